import Foundation

/// The difference between two accuracies measured on the same test images (without and with a defence), with
/// its 95% interval for paired data: the accuracy cost of a defence and how far the test set can pin it down.
///
/// Newcombe (1998, Stat Med 17:2635, method 10), the "square-and-add" (MOVER-Wilson) interval recommended by
/// Fagerland, Lydersen & Laake (Stat Med 2014): from the Wilson intervals (l₁, u₁) and (l₂, u₂) of the two
/// accuracies p₁, p₂ and the φ correlation of the 2×2 table,
/// lower = Δ − √((p₁−l₁)² − 2φ(p₁−l₁)(u₂−p₂) + (u₂−p₂)²), upper = Δ + √((u₁−p₁)² − 2φ(u₁−p₁)(p₂−l₂) + (p₂−l₂)²),
/// Δ = p₁ − p₂ = (b − c)/n. Chosen over the Wald interval (which collapses to a point when no test image changes
/// its outcome, exactly the case of a small test set) and over a bootstrap (which needs random draws and is no
/// better at n ≈ 30). `scripts/experiments/paired_interval.py` computes the same values in plain Python.
public struct PairedDifference: Codable, Sendable, Equatable {
    /// Right without the defence and with it.
    public let bothRight: Int
    /// Right without the defence only (the defence lost them).
    public let lost: Int
    /// Right with the defence only.
    public let gained: Int
    /// Wrong either way.
    public let bothWrong: Int

    public init(bothRight: Int, lost: Int, gained: Int, bothWrong: Int) {
        self.bothRight = max(0, bothRight); self.lost = max(0, lost); self.gained = max(0, gained); self.bothWrong = max(0, bothWrong)
    }

    /// The table of two runs' outcomes on the same images (`baseline[i]`, `defended[i]`: image i predicted right).
    public init?(baseline: [Bool], defended: [Bool]) {
        guard baseline.count == defended.count, !baseline.isEmpty else { return nil }
        var t = (0, 0, 0, 0)
        for (b, d) in zip(baseline, defended) {
            switch (b, d) {
            case (true, true): t.0 += 1
            case (true, false): t.1 += 1
            case (false, true): t.2 += 1
            case (false, false): t.3 += 1
            }
        }
        self.init(bothRight: t.0, lost: t.1, gained: t.2, bothWrong: t.3)
    }

    /// Test images (pairs).
    public var pairs: Int { bothRight + lost + gained + bothWrong }
    /// The accuracy without the defence and with it.
    public var baseline: Proportion { Proportion(bothRight + lost, of: pairs) }
    public var defended: Proportion { Proportion(bothRight + gained, of: pairs) }
    /// baseline − defended accuracy (positive: the defence costs accuracy); nil for no pairs.
    public var drop: Double? { pairs > 0 ? Double(lost - gained) / Double(pairs) : nil }

    /// The 95% interval of `drop` (nil for no pairs).
    public var interval: ClosedRange<Double>? { Self.interval(Double(bothRight), Double(lost), Double(gained), Double(bothWrong)) }

    /// The interval for a table of (possibly fractional, for sample-size questions) counts.
    static func interval(_ a: Double, _ b: Double, _ c: Double, _ d: Double, z: Double = Proportion.z95) -> ClosedRange<Double>? {
        let n = a + b + c + d
        guard n > 0 else { return nil }
        let p1 = (a + b) / n, p2 = (a + c) / n, delta = p1 - p2
        let w1 = Proportion.wilson(rate: p1, n: n, z: z), w2 = Proportion.wilson(rate: p2, n: n, z: z)
        let (l1, u1, l2, u2) = (w1.lowerBound, w1.upperBound, w2.lowerBound, w2.upperBound)
        let den = (a + b) * (c + d) * (a + c) * (b + d)
        let phi = den > 0 ? (a * d - b * c) / den.squareRoot() : 0
        let lower = delta - Swift.max(0, (p1 - l1) * (p1 - l1) - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) * (u2 - p2)).squareRoot()
        let upper = delta + Swift.max(0, (u1 - p1) * (u1 - p1) - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) * (p2 - l2)).squareRoot()
        return Swift.max(-1, lower)...Swift.min(1, upper)
    }

    /// The number of test images at which the same outcome rates would put the drop's upper bound at or below `budget`
    /// (the answer to "how many test images would tell?"); nil when the measured drop itself is over the budget, so no
    /// test set can show the defence to be within it.
    public func pairsNeeded(toShowWithin budget: Double) -> Int? {
        guard let drop, drop < budget, pairs > 0 else { return nil }
        if let i = interval, i.upperBound <= budget { return pairs }
        let n = Double(pairs)
        func fits(_ m: Double) -> Bool {
            let f = m / n
            return (Self.interval(Double(bothRight) * f, Double(lost) * f, Double(gained) * f, Double(bothWrong) * f)?.upperBound ?? 1) <= budget
        }
        var hi = n
        while !fits(hi) {
            hi *= 2
            if hi > 1e9 { return nil }
        }
        var lo = hi / 2
        while hi - lo > 0.5 {
            let mid = (lo + hi) / 2
            if fits(mid) { hi = mid } else { lo = mid }
        }
        return Int(hi.rounded(.up))
    }

    enum CodingKeys: String, CodingKey { case bothRight, lost, gained, bothWrong, pairs, drop, lower, upper }

    /// Coded with the derived pairs, drop and interval (JSON readers need not recompute).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bothRight, forKey: .bothRight); try c.encode(lost, forKey: .lost)
        try c.encode(gained, forKey: .gained); try c.encode(bothWrong, forKey: .bothWrong)
        try c.encode(pairs, forKey: .pairs); try c.encodeIfPresent(drop, forKey: .drop)
        try c.encodeIfPresent(interval?.lowerBound, forKey: .lower); try c.encodeIfPresent(interval?.upperBound, forKey: .upper)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(bothRight: try c.decode(Int.self, forKey: .bothRight), lost: try c.decode(Int.self, forKey: .lost),
                  gained: try c.decode(Int.self, forKey: .gained), bothWrong: try c.decode(Int.self, forKey: .bothWrong))
    }
}
