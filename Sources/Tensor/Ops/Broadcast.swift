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

/// The innermost runs of a row-major walk over `shape` with two strided operands: adjacent dimensions that
/// are contiguous for both operands are merged so that runs are as long as possible. `walk` visits any range
/// of the runs (starting its counters at the range's first run), so a walk can be cut into pieces.
struct RunWalk {
    /// Innermost (merged) dimension first: (size, stride in a, stride in b).
    private let inner: (n: Int, a: Int, b: Int)
    private let outer: [(n: Int, a: Int, b: Int)]
    /// The number of runs, and the elements of the whole walk.
    let runs: Int, total: Int

    init(_ shape: [Int], _ sa: [Int], _ sb: [Int]) {
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
        total = shape.reduce(1, *)
        inner = dims.first ?? (1, 0, 0)
        outer = Array(dims.dropFirst())
        runs = total == 0 ? 0 : total / inner.n
    }

    /// Length of each run.
    var runLength: Int { inner.n }

    /// Calls `body(o, a, b, n, sa, sb)` for runs `r`: `o` the contiguous offset, `a`, `b` the operands' offsets.
    @inline(__always)
    func walk(_ r: Range<Int>, _ body: (_ o: Int, _ a: Int, _ b: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
        if r.isEmpty { return }
        var counter = [Int](repeating: 0, count: outer.count)
        var rest = r.lowerBound, a = 0, b = 0
        for d in 0..<outer.count {
            counter[d] = rest % outer[d].n; rest /= outer[d].n
            a += counter[d] * outer[d].a; b += counter[d] * outer[d].b
        }
        var o = r.lowerBound * inner.n
        for _ in r {
            body(o, a, b, inner.n, inner.a, inner.b)
            o += inner.n
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
}

/// Calls `body(o, a, b, n, sa, sb)` for every innermost run of a row-major walk over `shape` (`RunWalk`).
@inline(__always)
func forEachRun(_ shape: [Int], _ sa: [Int], _ sb: [Int],
                _ body: (_ o: Int, _ a: Int, _ b: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
    let w = RunWalk(shape, sa, sb)
    w.walk(0..<w.runs, body)
}

/// `forEachRun` for bodies whose runs write disjoint outputs: the runs in shape-fixed groups on the op threads.
@inline(__always)
func forEachRunInParallel(_ shape: [Int], _ sa: [Int], _ sb: [Int],
                          _ body: (_ o: Int, _ a: Int, _ b: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
    let w = RunWalk(shape, sa, sb)
    OpThreads.forPieces(size: w.runs, work: w.total, minWork: OpThreads.minElementwiseWork, minPiece: Swift.max(1, (1 << 12) / w.runLength)) { r in
        w.walk(r, body)
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
        forEachRunInParallel(target, sa, zero) { o, a, _, n, s, _ in
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
        let src = storage, dst = out.storage, tcount = out.count
        // Runs in shape-fixed groups, each summed into its own zeroed copy of the output; the copies are then
        // added in group order (so the result does not depend on the thread count). Only worth it while the
        // copies are small next to the input.
        let groups = tcount * 16 <= count ? OpThreads.parts(size: count / Swift.max(1, shape.last ?? 1), work: count, minWork: OpThreads.minElementwiseWork, minPiece: 1) : 1
        if groups == 1 {
            forEachRun(shape, contiguous, so) { _, a, o, n, sa, s in sumRun(src, dst, a, o, n, sa, s) }
        } else {
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: groups * tcount)
            defer { partial.deallocate() }
            partial.initialize(repeating: 0, count: groups * tcount)
            forEachRunGroup(shape, contiguous, so, groups: groups) { g, a, o, n, sa, s in sumRun(src, partial + g * tcount, a, o, n, sa, s) }
            for g in 0..<groups { let p = partial + g * tcount; for i in 0..<tcount { dst[i] += p[i] } }
        }
        let srcShape = shape
        return out.recording("sumTo", [self]) { g, _, _ in [g.expand(to: srcShape)] }
    }
}

/// One run of `sum(to:)`: a run onto one output (s == 0, summed in Double) or onto a strided output row.
@inline(__always)
private func sumRun(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ a: Int, _ o: Int, _ n: Int, _ sa: Int, _ s: Int) {
    if s == 0 {
        var acc: Double = 0
        if sa == 1 { for i in 0..<n { acc += Double(src[a + i]) } }
        else { for i in 0..<n { acc += Double(src[a + i * sa]) } }
        dst[o] += Float(acc)
    } else {
        for i in 0..<n { dst[o + i * s] += src[a + i * sa] }
    }
}

/// The runs of `forEachRun` cut into `groups` shape-fixed groups of whole runs on the op threads; `body`
/// gets its group's index first (runs of different groups may write the same output: the caller keeps one
/// output per group).
private func forEachRunGroup(_ shape: [Int], _ sa: [Int], _ sb: [Int], groups: Int,
                             _ body: (_ group: Int, _ a: Int, _ b: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
    let w = RunWalk(shape, sa, sb)
    OpThreads.forEach(groups) { g in
        w.walk(OpThreads.range(g, of: groups, size: w.runs)) { _, a, b, n, sa, sb in body(g, a, b, n, sa, sb) }
    }
}
