import XCTest
import Tensor

/// Finite-difference checks of first and second derivatives.
///
/// The engine is Float32, so central differences with step h have a truncation error ~h^2 |f'''| and
/// a rounding error ~ulp(f)/h. With h = 1e-2 on O(1) inputs both are ~1e-4 relative, so a tolerance of
/// 2e-3 (relative to the derivative's scale) separates rounding from a wrong rule, which is off by O(1).
/// Each output is reduced to a scalar with fixed random weights so every output element is tested.
public struct GradCheck {
    public var rng = SeededGenerator(seed: 42)
    public var h: Float = 1e-2
    public var tolerance: Float = 2e-3
    public init() {}

    public mutating func randomLike(_ t: Tensor) -> Tensor { Tensor.randn(t.shape, using: &rng) }

    /// f's output reduced with weights w: a scalar graph value.
    public func scalarized(_ out: Tensor, _ w: Tensor) -> Tensor { (out * w).sum() }

    /// Checks first derivatives element by element and second derivatives (Hessian-vector products)
    /// along random directions. `linear: true` declares f linear in its inputs (its gradient does not depend
    /// on them, so the Hessian is zero and double backward has nothing to differentiate): then the check is
    /// that the finite-difference Hessian is zero too. An f not declared linear whose gradient comes out
    /// constant fails: a backward rule that drops its dependence on the input must not pass as "linear".
    public mutating func check(_ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                        secondOrder: Bool = true, linear: Bool = false, _ f: ([Tensor]) -> Tensor) {
        let xs = inputs.map { $0.detached(requiresGrad: true) }
        let w = randomLike(f(xs))
        func value(_ v: [Tensor]) -> Double {
            Double(scalarized(f(v), w).scalar)
        }
        // First order: every element.
        let analytic = grad(of: scalarized(f(xs), w), wrt: xs)
        for (k, x) in xs.enumerated() {
            let a = analytic[k].scalars
            let scale = max(1, a.map { Swift.abs($0) }.max() ?? 1)
            for i in 0..<x.count {
                let plus = xs.map { $0.detached() }, minus = xs.map { $0.detached() }
                plus[k].withUnsafeMutableBufferPointer { $0[i] += h }
                minus[k].withUnsafeMutableBufferPointer { $0[i] -= h }
                let fd = Float((value(plus) - value(minus)) / Double(2 * h))
                if Swift.abs(fd - a[i]) > tolerance * scale * 5 {
                    XCTFail("first derivative, input \(k) element \(i): analytic \(a[i]) vs finite difference \(fd)", file: file, line: line)
                    return
                }
            }
        }
        guard secondOrder else { return }
        // Second order: H d (via double backward) against the finite difference of the gradient along d.
        for _ in 0..<2 {
            let d = xs.map { randomLike($0) }
            let g = grad(of: scalarized(f(xs), w), wrt: xs, createGraph: true)
            var gd: Tensor? = nil
            for (gi, di) in zip(g, d) { let t = (gi * di).sum(); gd = gd.map { $0 + t } ?? t }
            let plus = zip(xs, d).map { ($0.0 + $0.1 * h).detached(requiresGrad: true) }
            let minus = zip(xs, d).map { ($0.0 - $0.1 * h).detached(requiresGrad: true) }
            let gp = grad(of: scalarized(f(plus), w), wrt: plus)
            let gm = grad(of: scalarized(f(minus), w), wrt: minus)
            guard let gdv = gd, gdv.requiresGrad else {
                // The gradient does not depend on the inputs: the Hessian must be zero, and f declared linear.
                if !linear {
                    XCTFail("second-order check cannot run: the gradient does not depend on the inputs; declare the op linear: true if it is", file: file, line: line)
                    return
                }
                for k in xs.indices {
                    let fd = zip(gp[k].scalars, gm[k].scalars).map { ($0 - $1) / (2 * h) }
                    let scale = max(1, gp[k].scalars.map { Swift.abs($0) }.max() ?? 1)
                    if let i = fd.indices.first(where: { Swift.abs(fd[$0]) > tolerance * scale * 10 }) {
                        XCTFail("declared linear, but the finite-difference Hessian is \(fd[i]) at input \(k) element \(i)", file: file, line: line)
                        return
                    }
                }
                continue
            }
            let hvp = grad(of: gdv, wrt: xs)
            for k in xs.indices {
                let a = hvp[k].scalars
                let fd = zip(gp[k].scalars, gm[k].scalars).map { ($0 - $1) / (2 * h) }
                let scale = max(1, fd.map { Swift.abs($0) }.max() ?? 1)
                for i in a.indices where Swift.abs(a[i] - fd[i]) > tolerance * scale * 10 {
                    XCTFail("second derivative (Hessian-vector), input \(k) element \(i): double backward \(a[i]) vs finite difference \(fd[i])", file: file, line: line)
                    return
                }
            }
        }
    }

    /// Third order: the gradient of (H d) . e (triple backward: a graph of the double backward, differentiated
    /// again) against the finite difference along e of H d (double backward). Both sides are the third
    /// derivative tensor applied to d and e, which is symmetric.
    public mutating func checkThirdOrder(_ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line,
                                         _ f: ([Tensor]) -> Tensor) {
        let xs = inputs.map { $0.detached(requiresGrad: true) }
        let w = randomLike(f(xs))
        let d = xs.map { randomLike($0) }, e = xs.map { randomLike($0) }
        func inner(_ a: [Tensor], _ b: [Tensor]) -> Tensor {
            zip(a, b).map { ($0.0 * $0.1).sum() }.dropFirst().reduce((a[0] * b[0]).sum(), +)
        }
        func hvp(_ v: [Tensor], createGraph: Bool) -> [Tensor] {
            let g = grad(of: scalarized(f(v), w), wrt: v, createGraph: true)
            return grad(of: inner(g, d), wrt: v, createGraph: createGraph)
        }
        let third = grad(of: inner(hvp(xs, createGraph: true), e), wrt: xs)
        let plus = zip(xs, e).map { ($0.0 + $0.1 * h).detached(requiresGrad: true) }
        let minus = zip(xs, e).map { ($0.0 - $0.1 * h).detached(requiresGrad: true) }
        let hp = hvp(plus, createGraph: false), hm = hvp(minus, createGraph: false)
        for k in xs.indices {
            let a = third[k].scalars
            let fd = zip(hp[k].scalars, hm[k].scalars).map { ($0 - $1) / (2 * h) }
            let scale = max(1, fd.map { Swift.abs($0) }.max() ?? 1)
            if fd.allSatisfy({ $0 == 0 }) { XCTFail("third-order check: the finite-difference third derivative is zero; pick an f with one", file: file, line: line); return }
            for i in a.indices where Swift.abs(a[i] - fd[i]) > tolerance * scale * 10 {
                XCTFail("third derivative, input \(k) element \(i): triple backward \(a[i]) vs finite difference \(fd[i])", file: file, line: line)
                return
            }
        }
    }
}
