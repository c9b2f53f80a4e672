import Foundation

// Fused ops for the hot path of gradient matching. Each has a backward written with differentiable
// ops, so it keeps every derivative order; each saves several graph nodes per evaluation.

/// sum((a - b)^2) over all elements (shape []), accumulated in Double.
public func squaredDistance(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "squaredDistance of \(a.shape) and \(b.shape)")
    let acc = simdReduce(a.storage, b.storage, a.count) { x, y in let d = x - y; return d * d }
    return Tensor(Float(acc)).recording("squaredDistance", [a, b]) { g, _, needs in
        let ga = scaledDifference(a, b, g * 2)
        return [needs[0] ? ga : nil, needs[1] ? -ga : nil]
    }
}

/// (a - b)·s for a scalar s (shape []), in one pass: the same bits as `(a - b) * s`, one pass and buffer fewer.
public func scaledDifference(_ a: Tensor, _ b: Tensor, _ s: Tensor) -> Tensor {
    precondition(a.shape == b.shape && s.count == 1, "scaledDifference of \(a.shape), \(b.shape), \(s.shape)")
    let out = Tensor(uninitializedShape: a.shape)
    let pa = a.storage, pb = b.storage, po = out.storage, sv = s.storage[0]
    OpThreads.forRanges(a.count) { r in for i in r { po[i] = (pa[i] - pb[i]) * sv } }
    return out.recording("scaledDifference", [a, b, s]) { g, _, needs in
        let gs = needs[0] || needs[1] ? g * s : nil
        return [needs[0] ? gs : nil, needs[1] ? -gs! : nil, needs[2] ? dot(g, a - b).reshaped(s.shape) : nil]
    }
}

/// [a·b, a·a] (shape [2]) in one pass over a and b: the two sums a cosine between gradients needs, each the
/// same bits as `dot(a, b)` and `dot(a, a)`. One node instead of two, and one backward pass over a (b·g0 + a·2g1,
/// `linearCombination`) instead of three scalings and two sums: at ResNet-18's 11.7 M parameters those passes
/// were ~8 % of an Inverting Gradients iteration.
public func dotAndSquaredNorm(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "dotAndSquaredNorm of \(a.shape) and \(b.shape)")
    let (ab, aa) = simdDotAndNorm(a.storage, b.storage, a.count)
    return Tensor(shape: [2], data: [Float(ab), Float(aa)]).recording("dotAndSquaredNorm", [a, b]) { g, _, needs in
        let g0 = g.slice(axis: 0, 0..<1).reshaped([]), g1 = g.slice(axis: 0, 1..<2).reshaped([])
        return [needs[0] ? linearCombination(b, g0, a, g1 * 2) : nil, needs[1] ? a * g0 : nil]
    }
}

/// x·s + y·t for x and y of one shape and scalars s and t (shape []), in one pass.
public func linearCombination(_ x: Tensor, _ s: Tensor, _ y: Tensor, _ t: Tensor) -> Tensor {
    precondition(x.shape == y.shape && s.count == 1 && t.count == 1, "linearCombination of \(x.shape), \(s.shape), \(y.shape), \(t.shape)")
    let out = Tensor(uninitializedShape: x.shape)
    let px = x.storage, py = y.storage, po = out.storage, sv = s.storage[0], tv = t.storage[0]
    OpThreads.forRanges(x.count) { r in for i in r { po[i] = px[i] * sv + py[i] * tv } }
    return out.recording("linearCombination", [x, s, y, t]) { g, _, needs in
        [needs[0] ? g * s : nil, needs[1] ? dot(g, x).reshaped(s.shape) : nil,
         needs[2] ? g * t : nil, needs[3] ? dot(g, y).reshaped(t.shape) : nil]
    }
}

extension Tensor {
    /// x + b[c] for x of shape [N, C, ...] and b of shape [C] (a convolution's bias): `channelAffine` without a scale.
    public func addingChannelBias(_ b: Tensor) -> Tensor {
        precondition(rank >= 2 && b.shape == [shape[1]], "channel bias \(b.shape) for \(shape)")
        return channelAffine(scale: nil, shift: b)
    }

    /// Sum over every axis but 1: [N, C, ...] -> [C]. Adjoint of `channelBroadcast`.
    public func channelSum() -> Tensor {
        let out = channelReduce(self, self) { a, _ in a }
        let full = shape
        return out.recording("channelSum", [self]) { g, _, _ in [g.channelBroadcast(to: full)] }
    }

    /// A [C] vector repeated over every other axis of `shape`. Adjoint of `channelSum`.
    public func channelBroadcast(to full: [Int]) -> Tensor {
        precondition(rank == 1 && full.count >= 2 && full[1] == count)
        let n = full[0], c = full[1], inner = full.reduce(1, *) / (n * c)
        let out = Tensor(uninitializedShape: full)
        let pb = storage, po = out.storage
        OpThreads.forPieces(size: n * c, work: n * c * inner, minWork: OpThreads.minElementwiseWork) { r in
            for plane in r { (po + plane * inner).update(repeating: pb[plane % c], count: inner) }
        }
        return out.recording("channelBroadcast", [self]) { g, _, _ in [g.channelSum()] }
    }
}

/// sum f(a[i], b[i]) with 8-wide SIMD partial sums, folded into Double every 4096 elements.
@inline(__always)
func simdReduce(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int,
                _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) -> Double {
    // Blocks of 4096 elements, each summed in Float lanes and added in Double in block order. Large inputs
    // compute the block sums on the op threads, then add them in the same order: the same result bit for bit.
    let blocks = n / 4096
    let parts = OpThreads.parts(size: blocks, work: n, minWork: 2 * OpThreads.minElementwiseWork, minPiece: 4)
    if parts == 1 { return simdReduceSerial(a, b, n, f) }
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: blocks)
    defer { sums.deallocate() }
    OpThreads.forPieces(size: blocks, work: n, minWork: 2 * OpThreads.minElementwiseWork, minPiece: 4) { r in
        for k in r { sums[k] = Double(simdBlockSum(a, b, k * 4096, k * 4096 + 4096, f)) }
    }
    var total: Double = 0
    for k in 0..<blocks { total += sums[k] }
    let done = blocks * 4096
    return total + simdReduceSerial(a + done, b + done, n - done, f)
}

/// The 8-lane Float sum of f over elements `i..<end` (a multiple of 8 long), summed across lanes.
@inline(__always)
private func simdBlockSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ start: Int, _ end: Int,
                          _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var acc = SIMD8<Float>()
    var i = start
    while i < end {
        acc += f(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                 rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        i += 8
    }
    return acc.sum()
}

/// The serial loop of `simdReduce` (the same block structure).
private func simdReduceSerial(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int,
                              _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) -> Double {
    var total: Double = 0
    var i = 0
    while i + 8 <= n {
        let end = Swift.min(i + 4096, n - n % 8)
        total += Double(simdBlockSum(a, b, i, end, f))
        i = end
    }
    var tail = SIMD8<Float>()
    var k = 0
    while i < n { var x = SIMD8<Float>(), y = SIMD8<Float>(); x[0] = a[i]; y[0] = b[i]; tail[k % 8] += f(x, y)[0]; i += 1; k += 1 }
    return total + Double(tail.sum())
}

/// Σ a·b and Σ a·a in one pass, each summed in exactly the order `simdReduce` sums it (the same bits as two
/// `simdReduce` calls), so the pair costs one read of a and b instead of two of a.
func simdDotAndNorm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> (Double, Double) {
    let blocks = n / 4096
    let parts = OpThreads.parts(size: blocks, work: n, minWork: 2 * OpThreads.minElementwiseWork, minPiece: 4)
    if parts == 1 { return pairSerial(a, b, n) }
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * blocks)
    defer { sums.deallocate() }
    OpThreads.forPieces(size: blocks, work: n, minWork: 2 * OpThreads.minElementwiseWork, minPiece: 4) { r in
        for k in r {
            let (x, y) = pairBlockSum(a, b, k * 4096, k * 4096 + 4096)
            sums[2 * k] = Double(x); sums[2 * k + 1] = Double(y)
        }
    }
    var ab: Double = 0, aa: Double = 0
    for k in 0..<blocks { ab += sums[2 * k]; aa += sums[2 * k + 1] }
    let done = blocks * 4096
    let rest = pairSerial(a + done, b + done, n - done)
    return (ab + rest.0, aa + rest.1)
}

@inline(__always)
private func pairBlockSum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ start: Int, _ end: Int) -> (Float, Float) {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var ab = SIMD8<Float>(), aa = SIMD8<Float>()
    var i = start
    while i < end {
        let x = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ab += x * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        aa += x * x
        i += 8
    }
    return (ab.sum(), aa.sum())
}

private func pairSerial(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> (Double, Double) {
    var ab: Double = 0, aa: Double = 0
    var i = 0
    while i + 8 <= n {
        let end = Swift.min(i + 4096, n - n % 8)
        let (x, y) = pairBlockSum(a, b, i, end)
        ab += Double(x); aa += Double(y)
        i = end
    }
    var tab = SIMD8<Float>(), taa = SIMD8<Float>()
    var k = 0
    while i < n { tab[k % 8] += a[i] * b[i]; taa[k % 8] += a[i] * a[i]; i += 1; k += 1 }
    return (ab + Double(tab.sum()), aa + Double(taa.sum()))
}
