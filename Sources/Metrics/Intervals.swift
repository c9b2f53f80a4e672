import Foundation

/// A count out of a sample, with its 95% Wilson score interval: what a rate measured on a few images can
/// and cannot say ("attack success 0 of 6" is compatible with a true rate up to 39%).
///
/// Wilson (1927), as in `statsmodels.stats.proportion.proportion_confint(method="wilson")`:
/// centre (p + z²/2n) / (1 + z²/n), half-width z √(p(1−p)/n + z²/4n²) / (1 + z²/n), with z the 97.5%
/// normal quantile. Chosen over the normal (Wald) interval because it stays inside [0, 1] and does not
/// collapse to a point at 0 of n or n of n, which is exactly where an audit's small samples sit.
public struct Proportion: Codable, Sendable, Equatable {
    public static let z95 = 1.959963984540054

    public let count: Int
    public let total: Int

    public init(_ count: Int, of total: Int) {
        self.count = Swift.max(0, Swift.min(count, total)); self.total = Swift.max(0, total)
    }

    /// count / total (nil for an empty sample).
    public var estimate: Double? { total > 0 ? Double(count) / Double(total) : nil }

    /// The 95% Wilson score interval (nil for an empty sample).
    public var interval: ClosedRange<Double>? { Self.wilson(count, total) }

    public static func wilson(_ k: Int, _ n: Int, z: Double = z95) -> ClosedRange<Double>? {
        guard n > 0, k >= 0, k <= n else { return nil }
        return wilson(rate: Double(k) / Double(n), n: Double(n), z: z)
    }

    /// The Wilson bounds of a rate `p` out of `n`, where n may be fractional (the scaled tables of a sample-size
    /// question). At a rate of 0 or 1 the bound is exactly 0 or 1 (rounding would leave 1e-17 otherwise).
    public static func wilson(rate p: Double, n nn: Double, z: Double = z95) -> ClosedRange<Double> {
        let z2 = z * z
        let denom = 1 + z2 / nn
        let centre = (p + z2 / (2 * nn)) / denom
        let half = z * Swift.max(0, p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot() / denom
        let lo = p <= 0 ? 0 : Swift.max(0, centre - half), hi = p >= 1 ? 1 : Swift.min(1, centre + half)
        return lo...hi
    }

    /// The smallest sample at which a rate of `rate` would have a 95% Wilson interval no wider than ±`halfWidth`
    /// (to say how many images a question needs).
    public static func sampleSize(rate: Double, halfWidth: Double, z: Double = z95) -> Int {
        guard halfWidth > 0 else { return Int.max }
        let p = Swift.min(Swift.max(rate, 0), 1)
        var n = 1
        while n < 1_000_000 {
            let k = Int((p * Double(n)).rounded())
            if let i = wilson(k, n, z: z), (i.upperBound - i.lowerBound) / 2 <= halfWidth { return n }
            n = n < 64 ? n + 1 : Int(Double(n) * 1.05) + 1
        }
        return n
    }

    enum CodingKeys: String, CodingKey { case count, total, estimate, lower, upper }

    /// Coded as the count, the total, the estimate and the interval's bounds (JSON readers need not recompute).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count); try c.encode(total, forKey: .total)
        try c.encodeIfPresent(estimate, forKey: .estimate)
        try c.encodeIfPresent(interval?.lowerBound, forKey: .lower); try c.encodeIfPresent(interval?.upperBound, forKey: .upper)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode(Int.self, forKey: .count), of: try c.decode(Int.self, forKey: .total))
    }

    /// "0 of 6 (95% CI 0–39%)".
    public var inWords: String {
        guard let i = interval else { return "not measured" }
        return "\(count) of \(total) (95% CI \(Self.pct(i.lowerBound))–\(Self.pct(i.upperBound)))"
    }

    static func pct(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
}
