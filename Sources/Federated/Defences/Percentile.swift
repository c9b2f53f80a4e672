import Foundation
import Tensor

/// Percentiles of magnitudes, as NumPy's `np.percentile(np.abs(x), p)` (default "linear" method):
/// the value at position p / 100 * (n - 1) of the sorted magnitudes, interpolated between neighbours.
/// Found by selection (expected O(n)), not by a full sort.
public enum Percentile {
    /// The p-th percentile (0...100) of |values|; 0 for no values.
    public static func ofMagnitudes(_ values: UnsafeBufferPointer<Float>, percent p: Double) -> Double {
        let n = values.count
        if n == 0 { return 0 }
        var scratch = [Float](repeating: 0, count: n)
        return scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n { s[i] = Swift.abs(values[i]) }
            return linear(s, percent: p)
        }
    }

    /// The p-th percentile of |entries| over every tensor of an update together.
    public static func ofMagnitudes(_ update: ModelUpdate, percent p: Double) -> Double {
        var scratch = [Float](repeating: 0, count: update.scalarCount)
        if scratch.isEmpty { return 0 }
        return scratch.withUnsafeMutableBufferPointer { s in
            var k = 0
            for t in update.tensors {
                t.withUnsafeBufferPointer { v in
                    for i in 0..<v.count { s[k + i] = Swift.abs(v[i]) }
                }
                k += t.count
            }
            return linear(s, percent: p)
        }
    }

    /// The linear-interpolation percentile of the values in `a` (reordered in place).
    static func linear(_ a: UnsafeMutableBufferPointer<Float>, percent p: Double) -> Double {
        let n = a.count
        let pos = Swift.min(Swift.max(p, 0), 100) / 100 * Double(n - 1)
        let lo = Int(pos.rounded(.down))
        let below = Double(select(a, lo))
        let frac = pos - Double(lo)
        if frac == 0 || lo + 1 >= n { return below }
        // After selection everything right of `lo` is >= a[lo]: the next order statistic is their minimum.
        var next = a[lo + 1]
        for i in (lo + 1)..<n where a[i] < next { next = a[i] }
        return below + (Double(next) - below) * frac
    }

    /// Quickselect with three-way partitioning: puts the k-th smallest value at index k, smaller-or-equal
    /// values before it and greater-or-equal values after it, and returns it.
    static func select(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi]
            let pivot = Swift.max(Swift.min(x, y), Swift.min(Swift.max(x, y), z))   // median of three
            var lt = lo, i = lo, gt = hi
            while i <= gt {
                let v = a[i]
                if v < pivot {
                    a.swapAt(lt, i); lt += 1; i += 1
                } else if v > pivot {
                    a.swapAt(i, gt); gt -= 1
                } else {
                    i += 1
                }
            }
            if k < lt { hi = lt - 1 } else if k > gt { lo = gt + 1 } else { return pivot }
        }
        return a[k]
    }
}
