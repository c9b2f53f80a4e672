import Foundation

extension Tensor {
    /// Same values, new shape (one dimension may be -1).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let k = target.firstIndex(of: -1) {
            let rest = target.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
            target[k] = rest == 0 ? 0 : count / rest
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        if target == shape { return self }
        let out = Tensor(sharing: self, shape: target)   // values never change after creation: share them
        let old = shape
        return out.recording("reshape", [self]) { g, _, _ in [g.reshaped(old)] }
    }

    public func flattened(from axis: Int = 1) -> Tensor {
        reshaped(Array(shape.prefix(axis)) + [shape.dropFirst(axis).reduce(1, *)])
    }

    /// Reorders dimensions: result dim i is input dim `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "bad permutation \(order) for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let newShape = order.map { shape[$0] }
        let inv = (0..<rank).map { order.firstIndex(of: $0)! }
        // Moving only size-1 dimensions keeps the memory order: a reshape.
        if order.filter({ shape[$0] != 1 }) == (0..<rank).filter({ shape[$0] != 1 }) {
            return reshaped(newShape)
        }
        let st = strides(of: shape)
        let src = order.map { st[$0] }
        let zero = [Int](repeating: 0, count: rank)
        let out = Tensor(uninitializedShape: newShape)
        let ps = storage, po = out.storage
        forEachRun(newShape, src, zero) { o, a, _, n, s, _ in
            if s == 1 { (po + o).update(from: ps + a, count: n) }
            else { for i in 0..<n { po[o + i] = ps[a + i * s] } }
        }
        return out.recording("permute", [self]) { g, _, _ in [g.permuted(inv)] }
    }

    /// Swaps two dimensions (the last two by default).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(a < 0 ? rank + a : a, b < 0 ? rank + b : b)
        return permuted(order)
    }

    /// The sub-block `ranges[d]` of every dimension d (a copy). Adjoint of `padded`.
    public func narrowed(_ ranges: [Range<Int>]) -> Tensor {
        precondition(ranges.count == rank)
        for d in 0..<rank { precondition(ranges[d].lowerBound >= 0 && ranges[d].upperBound <= shape[d], "slice \(ranges) out of \(shape)") }
        let newShape = ranges.map(\.count)
        if newShape == shape { return self }
        let st = strides(of: shape)
        let base = zip(ranges, st).reduce(0) { $0 + $1.0.lowerBound * $1.1 }
        let zero = [Int](repeating: 0, count: rank)
        let out = Tensor(uninitializedShape: newShape)
        let ps = storage + base, po = out.storage
        forEachRun(newShape, st, zero) { o, a, _, n, s, _ in
            if s == 1 { (po + o).update(from: ps + a, count: n) }
            else { for i in 0..<n { po[o + i] = ps[a + i * s] } }
        }
        let full = shape
        return out.recording("narrow", [self]) { g, _, _ in
            [g.padded(ranges.indices.map { (ranges[$0].lowerBound, full[$0] - ranges[$0].upperBound) })]
        }
    }

    /// `x[..., start..<end, ...]` along one axis.
    public func slice(axis: Int, _ r: Range<Int>) -> Tensor {
        let ax = axis < 0 ? rank + axis : axis
        var ranges = shape.map { 0..<$0 }
        ranges[ax] = r
        return narrowed(ranges)
    }

    /// Zero padding: `(before, after)` for every dimension. Adjoint of `narrowed`.
    public func padded(_ pads: [(Int, Int)], value: Float = 0) -> Tensor {
        precondition(pads.count == rank)
        if pads.allSatisfy({ $0.0 == 0 && $0.1 == 0 }) { return self }
        let newShape = (0..<rank).map { shape[$0] + pads[$0].0 + pads[$0].1 }
        let out = Tensor(shape: newShape, repeating: value)
        let st = strides(of: newShape)
        let base = (0..<rank).reduce(0) { $0 + pads[$1].0 * st[$1] }
        let zero = [Int](repeating: 0, count: rank)
        let ps = storage, po = out.storage + base
        forEachRun(shape, st, zero) { i, o, _, n, s, _ in
            if s == 1 { (po + o).update(from: ps + i, count: n) }
            else { for k in 0..<n { po[o + k * s] = ps[i + k] } }
        }
        let ranges = (0..<rank).map { pads[$0].0 ..< pads[$0].0 + shape[$0] }
        return out.recording("pad", [self]) { g, _, _ in [g.narrowed(ranges)] }
    }
}

/// Joins tensors along `axis`; all other dimensions must agree.
public func concat(_ parts: [Tensor], axis: Int) -> Tensor {
    precondition(!parts.isEmpty)
    let r = parts[0].rank
    let ax = axis < 0 ? r + axis : axis
    var shape = parts[0].shape
    shape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
    for p in parts { precondition(p.rank == r && (0..<r).allSatisfy { $0 == ax || p.shape[$0] == shape[$0] }, "concat shapes differ") }
    let out = Tensor(uninitializedShape: shape)
    let outer = shape.prefix(ax).reduce(1, *)
    let innerOut = shape.suffix(from: ax).reduce(1, *)
    var offset = 0
    for p in parts {
        let inner = p.shape.suffix(from: ax).reduce(1, *)
        for o in 0..<outer { (out.storage + o * innerOut + offset).update(from: p.storage + o * inner, count: inner) }
        offset += inner
    }
    return out.recording("concat", parts) { g, _, needs in
        var start = 0
        return parts.enumerated().map { (i, p) in
            defer { start += p.shape[ax] }
            return needs[i] ? g.slice(axis: ax, start ..< start + p.shape[ax]) : nil
        }
    }
}
