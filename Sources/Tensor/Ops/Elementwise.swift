import Foundation

@usableFromInline protocol BinaryKernel { static func f(_ a: Float, _ b: Float) -> Float }
@usableFromInline enum AddK: BinaryKernel { @inline(__always) @usableFromInline static func f(_ a: Float, _ b: Float) -> Float { a + b } }
@usableFromInline enum SubK: BinaryKernel { @inline(__always) @usableFromInline static func f(_ a: Float, _ b: Float) -> Float { a - b } }
@usableFromInline enum MulK: BinaryKernel { @inline(__always) @usableFromInline static func f(_ a: Float, _ b: Float) -> Float { a * b } }
@usableFromInline enum DivK: BinaryKernel { @inline(__always) @usableFromInline static func f(_ a: Float, _ b: Float) -> Float { a / b } }

@inline(__always)
func binaryKernel<K: BinaryKernel>(_ a: Tensor, _ b: Tensor, _: K.Type) -> Tensor {
    let pa = a.storage, pb = b.storage
    if a.shape == b.shape {
        let out = Tensor(uninitializedShape: a.shape)
        let po = out.storage
        OpThreads.forRanges(a.count) { r in for i in r { po[i] = K.f(pa[i], pb[i]) } }
        return out
    }
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let out = Tensor(uninitializedShape: shape)
    let po = out.storage
    if b.count == 1 && a.count == out.count {
        let bv = pb[0]
        OpThreads.forRanges(out.count) { r in for i in r { po[i] = K.f(pa[i], bv) } }
        return out
    }
    if a.count == 1 && b.count == out.count {
        let av = pa[0]
        OpThreads.forRanges(out.count) { r in for i in r { po[i] = K.f(av, pb[i]) } }
        return out
    }
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    forEachRunInParallel(shape, sa, sb) { o, ia, ib, n, da, db in
        if da == 1 && db == 1 { for i in 0..<n { po[o + i] = K.f(pa[ia + i], pb[ib + i]) } }
        else if da == 1 && db == 0 { let bv = pb[ib]; for i in 0..<n { po[o + i] = K.f(pa[ia + i], bv) } }
        else if da == 0 && db == 1 { let av = pa[ia]; for i in 0..<n { po[o + i] = K.f(av, pb[ib + i]) } }
        else { for i in 0..<n { po[o + i] = K.f(pa[ia + i * da], pb[ib + i * db]) } }
    }
    return out
}

@inline(__always) func unaryMap(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let px = x.storage, po = out.storage
    OpThreads.forRanges(x.count) { r in for i in r { po[i] = f(px[i]) } }
    return out
}

@inline(__always) func binaryMap(_ x: Tensor, _ y: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    precondition(x.shape == y.shape)
    let out = Tensor(uninitializedShape: x.shape)
    let px = x.storage, py = y.storage, po = out.storage
    OpThreads.forRanges(x.count) { r in for i in r { po[i] = f(px[i], py[i]) } }
    return out
}

// MARK: Broadcasting arithmetic

public func + (a: Tensor, b: Tensor) -> Tensor {
    let (sa, sb) = (a.shape, b.shape)
    return binaryKernel(a, b, AddK.self).recording("add", [a, b]) { g, _, needs in
        [needs[0] ? g.sum(to: sa) : nil, needs[1] ? g.sum(to: sb) : nil]
    }
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    let (sa, sb) = (a.shape, b.shape)
    return binaryKernel(a, b, SubK.self).recording("sub", [a, b]) { g, _, needs in
        [needs[0] ? g.sum(to: sa) : nil, needs[1] ? (-g).sum(to: sb) : nil]
    }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    binaryKernel(a, b, MulK.self).recording("mul", [a, b]) { g, _, needs in
        [needs[0] ? (g * b).sum(to: a.shape) : nil, needs[1] ? (g * a).sum(to: b.shape) : nil]
    }
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    binaryKernel(a, b, DivK.self).recording("div", [a, b]) { g, out, needs in
        [needs[0] ? (g / b).sum(to: a.shape) : nil, needs[1] ? (-(g * out) / b).sum(to: b.shape) : nil]
    }
}

public prefix func - (x: Tensor) -> Tensor {
    unaryMap(x) { -$0 }.recording("neg", [x]) { g, _, _ in [-g] }
}

// MARK: Scalar arithmetic

public func * (x: Tensor, s: Float) -> Tensor {
    unaryMap(x) { $0 * s }.recording("scale", [x]) { g, _, _ in [g * s] }
}
public func * (s: Float, x: Tensor) -> Tensor { x * s }
public func / (x: Tensor, s: Float) -> Tensor { x * (1 / s) }
public func + (x: Tensor, s: Float) -> Tensor {
    unaryMap(x) { $0 + s }.recording("shift", [x]) { g, _, _ in [g] }
}
public func + (s: Float, x: Tensor) -> Tensor { x + s }
public func - (x: Tensor, s: Float) -> Tensor { x + (-s) }
public func - (s: Float, x: Tensor) -> Tensor { (-x) + s }
public func / (s: Float, x: Tensor) -> Tensor { x.pow(-1) * s }

// MARK: Unary functions

extension Tensor {
    public func exp() -> Tensor {
        unaryMap(self) { Foundation.exp($0) }.recording("exp", [self]) { g, out, _ in [g * out] }
    }
    public func log() -> Tensor {
        unaryMap(self) { Foundation.log($0) }.recording("log", [self]) { g, _, _ in [g / self] }
    }
    public func sqrt() -> Tensor {
        unaryMap(self) { $0.squareRoot() }.recording("sqrt", [self]) { g, out, _ in [g / (out * 2)] }
    }
    /// x^p for a constant exponent p.
    public func pow(_ p: Float) -> Tensor {
        if p == 1 { return self }
        let f: Tensor
        if p == 2 { f = unaryMap(self) { $0 * $0 } }
        else if p == -1 { f = unaryMap(self) { 1 / $0 } }
        else if p == 0.5 { f = unaryMap(self) { $0.squareRoot() } }
        else if p == -0.5 { f = unaryMap(self) { 1 / $0.squareRoot() } }
        else { f = unaryMap(self) { Foundation.pow($0, p) } }
        return f.recording("pow", [self]) { g, _, _ in
            if p == 2 { return [g * self * 2] }
            return [g * self.pow(p - 1) * p]
        }
    }
    /// The error function; d/dx erf(x) = 2/sqrt(pi) exp(-x^2), written with differentiable ops.
    public func erf() -> Tensor {
        unaryMap(self) { Foundation.erf($0) }.recording("erf", [self]) { g, _, _ in
            [g * (self * self * -1).exp() * Float(2 / Double.pi.squareRoot())]
        }
    }
    public func abs() -> Tensor {
        unaryMap(self) { Swift.abs($0) }.recording("abs", [self]) { g, _, _ in [g * self.sign()] }
    }
    /// -1, 0 or 1; its derivative is 0.
    public func sign() -> Tensor {
        unaryMap(self) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
    }
    public func clamp(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        unaryMap(self) { Swift.min(Swift.max($0, lo), hi) }.recording("clamp", [self]) { g, _, _ in
            [g * unaryMap(self) { $0 >= lo && $0 <= hi ? 1 : 0 }]
        }
    }
    public func sigmoid() -> Tensor {
        unaryMap(self) { 1 / (1 + Foundation.exp(-$0)) }.recording("sigmoid", [self]) { g, out, _ in
            [sigmoidBackward(g, out)]
        }
    }
    public func tanh() -> Tensor {
        unaryMap(self) { Foundation.tanh($0) }.recording("tanh", [self]) { g, out, _ in
            [g * (1 - out * out)]
        }
    }
    public func relu() -> Tensor {
        unaryMap(self) { $0 > 0 ? $0 : 0 }.recording("relu", [self]) { g, out, _ in [reluMask(g, out)] }
    }
    public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
        unaryMap(self) { $0 > 0 ? $0 : $0 * slope }.recording("leakyRelu", [self]) { g, _, _ in
            [g * unaryMap(self) { $0 > 0 ? 1 : slope }]
        }
    }
    /// log(1 + e^(beta x)) / beta, linear above `threshold` as in PyTorch.
    public func softplus(beta: Float = 1, threshold: Float = 20) -> Tensor {
        unaryMap(self) { v in
            let z = v * beta
            return z > threshold ? v : Foundation.log1p(Foundation.exp(z)) / beta
        }.recording("softplus", [self]) { g, _, _ in
            [g * (self * beta).sigmoid()]
        }
    }
}

/// g * s * (1 - s), fused into one pass; differentiable in both arguments
/// (d/dg = s(1-s), d/ds = g(1-2s)), so the sigmoid's second and third derivatives come out right.
func sigmoidBackward(_ g: Tensor, _ s: Tensor) -> Tensor {
    binaryMap(g, s) { gv, sv in gv * sv * (1 - sv) }.recording("sigmoidBackward", [g, s]) { gg, _, needs in
        [needs[0] ? sigmoidBackward(gg, s) : nil,
         needs[1] ? gg * g * (1 - s * 2) : nil]
    }
}

/// g where out > 0, else 0: ReLU's backward in one pass. Linear in g (the mask is constant, its derivative 0), so
/// its own backward is itself.
func reluMask(_ g: Tensor, _ out: Tensor) -> Tensor {
    binaryMap(g, out) { gv, o in o > 0 ? gv : 0 }.recording("reluMask", [g]) { gg, _, _ in [reluMask(gg, out)] }
}

extension Tensor {
    /// self[i] = self[i] + other[i], for a gradient sum that only `grad(of:)` holds (never a graph value).
    func accumulate(_ other: Tensor) {
        precondition(shape == other.shape && node == nil && owner == nil)
        let p = storage, q = other.storage
        OpThreads.forRanges(count) { r in for i in r { p[i] = p[i] + q[i] } }
    }
}
