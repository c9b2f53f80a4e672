import Foundation

extension Tensor {
    /// Sum of every element (shape []). Accumulates in Double.
    public func sum() -> Tensor { sum(to: []) }

    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let ax = Set(axes.map { $0 < 0 ? rank + $0 : $0 })
        let kept = shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
        let s = sum(to: kept)
        return keepDims ? s : s.reshaped(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
    }

    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[$0 < 0 ? rank + $0 : $0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(n))
    }

    /// Sum of squares of every element, as a graph value.
    public func squaredNorm() -> Tensor { (self * self).sum() }
}

/// Dot product of two same-shaped tensors over all elements (shape []), fused.
public func dot(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "dot of \(a.shape) and \(b.shape)")
    let acc = simdReduce(a.storage, b.storage, a.count) { $0 * $1 }
    let out = Tensor(Float(acc))
    return out.recording("dot", [a, b]) { g, _, needs in
        [needs[0] ? b * g : nil, needs[1] ? a * g : nil]
    }
}
