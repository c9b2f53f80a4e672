import Foundation
import Tensor

/// Gradient pruning (DGC / DLG style), one tensor at a time.
public enum Pruning {
    /// A copy of `t` in which every entry with |value| at or below the `percent`-th percentile of the
    /// tensor's |values| (NumPy linear interpolation) is 0. With distinct magnitudes that zeroes
    /// floor(percent (n - 1) / 100) + 1 of the n entries.
    public static func prune(_ t: Tensor, percent: Double) -> Tensor {
        let out = t.detached()
        if t.count == 0 { return out }
        let threshold = t.withUnsafeBufferPointer { Percentile.ofMagnitudes($0, percent: percent) }
        out.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count where Double(Swift.abs(p[i])) <= threshold { p[i] = 0 }
        }
        return out
    }

    /// Every tensor of `update` pruned on its own (layer-wise thresholds, as DGC).
    public static func prune(_ update: ModelUpdate, percent: Double) -> ModelUpdate {
        update.map { _, t in prune(t, percent: percent) }
    }
}
