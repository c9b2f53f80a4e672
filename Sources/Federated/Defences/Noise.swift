import Foundation
import Tensor

/// Additive element-wise noise on updates.
public enum Noise {
    /// A copy of `update` with i.i.d. Laplace(0, b) added to every entry (tensors in order, row-major).
    public static func addLaplace(_ update: ModelUpdate, scale b: Double, rng: inout SeededGenerator) -> ModelUpdate {
        var r = rng
        let out = update.map { _, t in
            let o = t.detached()
            let fb = Float(b)
            o.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] += r.laplace(scale: fb) }
            }
            return o
        }
        rng = r
        return out
    }

    /// A copy of `update` with i.i.d. N(0, sigma^2) added to every entry (tensors in order, row-major).
    public static func addGaussian(_ update: ModelUpdate, std sigma: Double, rng: inout SeededGenerator) -> ModelUpdate {
        var r = rng
        let out = update.map { _, t in
            let o = t.detached()
            let fs = Float(sigma)
            o.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] += fs * r.normal() }
            }
            return o
        }
        rng = r
        return out
    }

    /// The scale `spec` gives for this update: 1 / level, the absolute scale, or r times the 95th
    /// percentile of |update| over all entries.
    public static func resolvedScale(_ spec: NoiseSpec, for update: ModelUpdate) -> Double {
        switch spec.scale {
        case let .level(l): return 1 / l
        case let .absolute(s): return s
        case let .relative(r): return r * Percentile.ofMagnitudes(update, percent: 95)
        }
    }

    /// Adds the noise `spec` describes; returns the noisy update and the realised scale (b or sigma).
    public static func apply(_ spec: NoiseSpec, to update: ModelUpdate,
                             rng: inout SeededGenerator) -> (update: ModelUpdate, scale: Double) {
        let scale = resolvedScale(spec, for: update)
        switch spec.distribution {
        case .laplace: return (addLaplace(update, scale: scale, rng: &rng), scale)
        case .gaussian: return (addGaussian(update, std: scale, rng: &rng), scale)
        }
    }
}
