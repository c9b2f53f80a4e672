import Foundation

// Per-channel ops over [N, C, ...] tensors: the pieces batch normalisation is built from. They form a set closed
// under differentiation (the backward of each is written with the others), so a graph built from them has exact
// derivatives to every order, and each op is one pass over the tensor with one graph node, where the same
// computation written with broadcasting arithmetic takes two to three passes and nodes per step.
// Every per-channel reduction sums each (sample, channel) plane in Double (8 Float lanes per 64-element block) and the
// planes in sample order, one channel per piece: the same bits at any thread count.

extension Tensor {
    /// x * scale[c] + shift[c] for x of shape [N, C, ...] and vectors of shape [C]; nil means 1 (scale) or 0 (shift).
    public func channelAffine(scale: Tensor?, shift: Tensor?) -> Tensor {
        if scale == nil && shift == nil { return self }
        precondition(rank >= 2, "channelAffine of a tensor of shape \(shape)")
        let n = shape[0], c = shape[1], inner = n * c == 0 ? 0 : count / (n * c)
        precondition(scale.map { $0.shape == [c] } ?? true && shift.map { $0.shape == [c] } ?? true,
                     "channel scale \(scale?.shape ?? []) / shift \(shift?.shape ?? []) for \(shape)")
        let out = Tensor(uninitializedShape: shape)
        let px = storage, po = out.storage, ps = scale?.storage, pt = shift?.storage
        OpThreads.forPieces(size: n * c, work: count, minWork: OpThreads.minElementwiseWork) { r in
            for plane in r {
                let ch = plane % c, base = plane * inner
                let a = ps?[ch] ?? 1, b = pt?[ch] ?? 0
                if ps == nil { for k in 0..<inner { po[base + k] = px[base + k] + b } }
                else if pt == nil { for k in 0..<inner { po[base + k] = px[base + k] * a } }
                else { for k in 0..<inner { po[base + k] = px[base + k] * a + b } }
            }
        }
        var inputs = [self]
        if let s = scale { inputs.append(s) }
        if let t = shift { inputs.append(t) }
        return out.recording("channelAffine", inputs) { g, _, needs in
            var parts: [Tensor?] = [needs[0] ? g.channelAffine(scale: scale, shift: nil) : nil]
            if scale != nil { parts.append(needs[1] ? g.channelDot(self) : nil) }
            if shift != nil { parts.append(needs[parts.count] ? g.channelSum() : nil) }
            return parts
        }
    }

    /// sum over every axis but 1 of self * other: [N, C, ...] x [N, C, ...] -> [C].
    public func channelDot(_ other: Tensor) -> Tensor {
        precondition(shape == other.shape && rank >= 2, "channelDot of \(shape) and \(other.shape)")
        let out = channelReduce(self, other) { a, b in a * b }
        return out.recording("channelDot", [self, other]) { g, _, needs in
            [needs[0] ? other.channelAffine(scale: g, shift: nil) : nil,
             needs[1] ? self.channelAffine(scale: g, shift: nil) : nil]
        }
    }

    /// sum over every axis but 1 of self^2: [N, C, ...] -> [C].
    public func channelSquaredNorm() -> Tensor {
        precondition(rank >= 2, "channelSquaredNorm of a tensor of shape \(shape)")
        let out = channelReduce(self, self) { a, _ in a * a }
        return out.recording("channelSquaredNorm", [self]) { g, _, _ in [self.channelAffine(scale: g * 2, shift: nil)] }
    }
}

/// [C]: for each channel, the sum of f over its planes (`planeReduce`, planes added in order).
@inline(__always)
func channelReduce(_ a: Tensor, _ b: Tensor, _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) -> Tensor {
    let n = a.shape[0], c = a.shape[1], inner = n * c == 0 ? 0 : a.count / (n * c)
    let out = Tensor(uninitializedShape: [c])
    let pa = a.storage, pb = b.storage, po = out.storage
    OpThreads.forPieces(size: c, work: a.count, minWork: OpThreads.minElementwiseWork) { r in
        for ch in r {
            var acc: Double = 0
            for i in 0..<n {
                let base = (i * c + ch) * inner
                acc += planeReduce(pa + base, pb + base, inner, f)
            }
            po[ch] = Float(acc)
        }
    }
    return out
}

/// sum of f over `n` elements: 8 Float lanes over blocks of 64 elements, each block's lanes added into a Double
/// (a Float sum over a whole plane loses the digits a nearly constant channel's mean and variance live in), then
/// the tail; a fixed order.
@inline(__always)
func planeReduce(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int,
                 _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) -> Double {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var total: Double = 0
    var i = 0
    while i + 64 <= n {
        var acc = SIMD8<Float>()
        for k in stride(from: i, to: i + 64, by: 8) {
            acc += f(ra.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self),
                     rb.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
        }
        total += Double(acc.sum())
        i += 64
    }
    while i < n {
        var x = SIMD8<Float>(), y = SIMD8<Float>()
        x[0] = a[i]; y[0] = b[i]
        total += Double(f(x, y)[0])
        i += 1
    }
    return total
}
