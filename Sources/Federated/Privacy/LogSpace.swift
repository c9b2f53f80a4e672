import Foundation

/// Log-space arithmetic in Double for the RDP accountant, mirroring Opacus
/// (`opacus/accountants/analysis/rdp.py`: `_log_add`, `_log_sub`, `_log_erfc`).
/// Zero is represented by `-infinity`.
public enum LogSpace {
    /// log(exp(x) + exp(y)) without overflow.
    public static func add(_ x: Double, _ y: Double) -> Double {
        let a = Swift.min(x, y), b = Swift.max(x, y)
        if a == -.infinity { return b }
        return Foundation.log1p(Foundation.exp(a - b)) + b
    }

    /// log(exp(x) - exp(y)) for x >= y. Returns NaN when x < y (Opacus raises there), `-infinity` when
    /// x == y, and x itself when exp(x - y) overflows (as Opacus does on `OverflowError`).
    public static func sub(_ x: Double, _ y: Double) -> Double {
        if x < y { return .nan }
        if y == -.infinity { return x }
        if x == y { return -.infinity }
        let e = Foundation.expm1(x - y)
        if !e.isFinite { return x }
        return Foundation.log(e) + y
    }

    /// log(erfc(x)), accurate where erfc underflows (x up to any size); Opacus computes it as
    /// log(2) + log_ndtr(-x * sqrt(2)).
    ///
    /// For x <= 25 erfc is representable with full relative accuracy, so its logarithm is taken directly;
    /// beyond, the asymptotic series erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * sum_n (-1)^n (2n-1)!! / (2x^2)^n
    /// is used (its first omitted term is below 1e-17 there).
    public static func logErfc(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        if x <= 25 { return Foundation.log(Foundation.erfc(x)) }
        if x == .infinity { return -.infinity }
        let z = 1 / (2 * x * x)
        var term = 1.0, series = 1.0
        for n in 1...8 {
            term *= -Double(2 * n - 1) * z
            series += term
        }
        return -x * x - Foundation.log(x) - 0.5 * Foundation.log(Double.pi) + Foundation.log(series)
    }
}
