import Foundation

/// Shape of numpy-style broadcasting of `a` and `b`, or nil if they do not broadcast.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides of `shape` viewed inside `outShape` (right-aligned), with 0 on broadcast dimensions.
@inline(__always) func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let st = strides(of: shape)
    let r = outShape.count, off = r - shape.count
    var s = [Int](repeating: 0, count: r)
    for i in 0..<shape.count where shape[i] != 1 { s[i + off] = st[i] }
    return s
}

/// Calls `body(o, a, b, n, sa, sb)` for every innermost run of a row-major walk over `shape`, where
/// `o` is the contiguous offset and `a`, `b` the offsets in two strided operands. Adjacent dimensions
/// that are contiguous for both operands are merged so that runs are as long as possible.
@inline(__always)
func forEachRun(_ shape: [Int], _ sa: [Int], _ sb: [Int],
                _ body: (_ o: Int, _ a: Int, _ b: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
    // Collapse dimensions (innermost first).
    var dims: [(n: Int, a: Int, b: Int)] = []
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        let n = shape[i]
        if n == 1 { continue }
        if let last = dims.last, sa[i] == last.a * last.n, sb[i] == last.b * last.n {
            dims[dims.count - 1] = (last.n * n, last.a, last.b)
        } else {
            dims.append((n, sa[i], sb[i]))
        }
    }
    let total = shape.reduce(1, *)
    if total == 0 { return }
    if dims.isEmpty { body(0, 0, 0, 1, 0, 0); return }
    let inner = dims[0]
    if dims.count == 1 { body(0, 0, 0, inner.n, inner.a, inner.b); return }
    let outer = Array(dims.dropFirst())
    var counter = [Int](repeating: 0, count: outer.count)
    var o = 0, a = 0, b = 0
    let runs = total / inner.n
    for _ in 0..<runs {
        body(o, a, b, inner.n, inner.a, inner.b)
        o += inner.n
        // advance counter
        var d = 0
        while d < outer.count {
            counter[d] += 1
            a += outer[d].a; b += outer[d].b
            if counter[d] < outer[d].n { break }
            a -= outer[d].a * outer[d].n; b -= outer[d].b * outer[d].n
            counter[d] = 0
            d += 1
        }
    }
}

// MARK: expand / sumTo (an adjoint pair)

extension Tensor {
    /// Broadcasts to `shape` (a copy). Its gradient is `sumTo` the original shape.
    public func expand(to target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(broadcastShape(shape, target) == target, "cannot expand \(shape) to \(target)")
        let out = Tensor(uninitializedShape: target)
        let sa = broadcastStrides(shape, to: target)
        let zero = [Int](repeating: 0, count: target.count)
        let src = storage, dst = out.storage
        forEachRun(target, sa, zero) { o, a, _, n, s, _ in
            if s == 1 { (dst + o).update(from: src + a, count: n) }
            else if s == 0 { (dst + o).update(repeating: src[a], count: n) }
            else { for i in 0..<n { dst[o + i] = src[a + i * s] } }
        }
        let srcShape = shape
        return out.recording("expand", [self]) { g, _, _ in [g.sum(to: srcShape)] }
    }

    /// Sums over the dimensions that broadcasting to this tensor's shape added (the adjoint of `expand`).
    public func sum(to target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(broadcastShape(target, shape) == shape, "cannot sum \(shape) to \(target)")
        let out = Tensor(shape: target, repeating: 0)
        let so = broadcastStrides(target, to: shape)
        let contiguous = strides(of: shape)
        let src = storage, dst = out.storage
        forEachRun(shape, contiguous, so) { _, a, o, n, sa, s in
            if s == 0 {
                var acc: Double = 0
                if sa == 1 { for i in 0..<n { acc += Double(src[a + i]) } }
                else { for i in 0..<n { acc += Double(src[a + i * sa]) } }
                dst[o] += Float(acc)
            } else {
                for i in 0..<n { dst[o + i * s] += src[a + i * sa] }
            }
        }
        let srcShape = shape
        return out.recording("sumTo", [self]) { g, _, _ in [g.expand(to: srcShape)] }
    }
}
