import Foundation
import Tensor

/// Update quantisation, one tensor at a time.
public enum Quantisation {
    /// k-bit unbiased stochastic quantisation (QSGD-style, over the tensor's range): 2^k evenly spaced
    /// levels from min to max; a value between levels l and l + 1 becomes level l + 1 with probability
    /// equal to its fractional position, so E[q(x)] = x. The result takes at most 2^k distinct values.
    /// A constant tensor is returned unchanged (and draws nothing). One uniform draw per entry otherwise.
    public static func stochastic(_ t: Tensor, bits: Int, rng: inout SeededGenerator) -> Tensor {
        precondition((1...16).contains(bits), "quantisation bits must be in 1...16, got \(bits)")
        let out = t.detached()
        if t.count == 0 { return out }
        let (lo, hi) = t.withUnsafeBufferPointer { p -> (Float, Float) in
            var lo = p[0], hi = p[0]
            for i in 1..<p.count { lo = Swift.min(lo, p[i]); hi = Swift.max(hi, p[i]) }
            return (lo, hi)
        }
        if !(hi > lo) { return out }
        let intervals = (1 << bits) - 1
        let step = (Double(hi) - Double(lo)) / Double(intervals)
        var levels = (0...intervals).map { Float(Double(lo) + Double($0) * step) }
        levels[intervals] = hi
        levels.withUnsafeBufferPointer { lv in
            out.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count {
                    let pos = (Double(p[i]) - Double(lo)) / step
                    let below = Swift.min(Swift.max(Int(pos.rounded(.down)), 0), intervals)
                    let frac = pos - Double(below)
                    let up = below < intervals && Double(rng.uniform()) < frac
                    p[i] = lv[up ? below + 1 : below]
                }
            }
        }
        return out
    }

    /// signSGD with scale: sign(x) * mean(|x|) of the tensor, sign(0) = 0.
    public static func signWithMeanMagnitude(_ t: Tensor) -> Tensor {
        let out = t.detached()
        if t.count == 0 { return out }
        let mean = t.withUnsafeBufferPointer { p -> Float in
            var s = 0.0
            for i in 0..<p.count { s += Double(Swift.abs(p[i])) }
            return Float(s / Double(p.count))
        }
        out.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = p[i] > 0 ? mean : (p[i] < 0 ? -mean : 0) }
        }
        return out
    }

    /// Every tensor of `update` quantised on its own.
    public static func quantise(_ update: ModelUpdate, _ q: Quantization, rng: inout SeededGenerator) -> ModelUpdate {
        switch q {
        case let .stochastic(bits):
            var r = rng
            let out = update.map { _, t in stochastic(t, bits: bits, rng: &r) }
            rng = r
            return out
        case .sign:
            return update.map { _, t in signWithMeanMagnitude(t) }
        }
    }
}
