import Foundation

/// Rényi differential privacy of the Sampled Gaussian Mechanism (SGM), computed exactly as Opacus 1.6
/// does (`opacus/accountants/analysis/rdp.py`, itself from TF Privacy), after Mironov, Talwar and Zhang,
/// "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (2019), Section 3.3.
///
/// Everything is in Double. Integer orders use the closed-form binomial sum; fractional orders the
/// two-sided series with log-erfc, summed until both new terms fall below exp(-30).
public enum RDPAnalysis {
    /// Opacus's `RDPAccountant.DEFAULT_ALPHAS`: 1.1, 1.2, ..., 10.9 (computed as 1 + x / 10.0, so 2.0,
    /// 3.0, ... are integers and take the closed form), then 12, 13, ..., 63.
    public static let defaultOrders: [Double] =
        (1..<100).map { 1 + Double($0) / 10.0 } + (12...63).map { Double($0) }

    /// RDP at order `alpha` of one application of the SGM with sampling rate `q` and noise multiplier
    /// `sigma` (Opacus `_compute_rdp`): 0 when q = 0, infinity when sigma = 0, alpha / (2 sigma^2) when
    /// q = 1, else log(A_alpha) / (alpha - 1).
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, order alpha: Double) -> Double {
        if q == 0 { return 0 }
        if sigma == 0 { return .infinity }
        if q == 1 { return alpha / (2 * sigma * sigma) }
        if alpha.isInfinite { return .infinity }
        return logA(q: q, sigma: sigma, alpha: alpha) / (alpha - 1)
    }

    /// RDP at every order of the SGM iterated `steps` times (Opacus `compute_rdp`).
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, steps: Int,
                           orders: [Double] = defaultOrders) -> [Double] {
        orders.map { rdp(sampleRate: q, noiseMultiplier: sigma, order: $0) * Double(steps) }
    }

    /// Converts RDP guarantees to (epsilon, delta)-DP (Opacus `get_privacy_spent`; Balle et al. 2020,
    /// Theorem 21): epsilon = min over orders of rdp - (log(delta) + log(alpha)) / (alpha - 1)
    /// + log((alpha - 1) / alpha). NaN entries are ignored; all-NaN gives (infinity, NaN).
    /// Returns the epsilon and the order that attains it.
    public static func privacySpent(orders: [Double], rdp: [Double], delta: Double) -> (epsilon: Double, order: Double) {
        precondition(orders.count == rdp.count, "privacySpent: \(orders.count) orders for \(rdp.count) RDP values")
        let logDelta = Foundation.log(delta)
        var best = Double.nan, bestOrder = Double.nan
        for (alpha, r) in zip(orders, rdp) {
            let eps = r - (logDelta + Foundation.log(alpha)) / (alpha - 1) + Foundation.log((alpha - 1) / alpha)
            if eps.isNaN { continue }
            if best.isNaN || eps < best { best = eps; bestOrder = alpha }
        }
        if best.isNaN { return (.infinity, .nan) }
        return (best, bestOrder)
    }

    /// log(A_alpha) for any positive finite order (Opacus `_compute_log_a`), for 0 < q < 1.
    static func logA(q: Double, sigma: Double, alpha: Double) -> Double {
        if alpha.rounded() == alpha, alpha < Double(Int.max) {
            return logAIntegerOrder(q: q, sigma: sigma, alpha: Int(alpha))
        }
        return logAFractionalOrder(q: q, sigma: sigma, alpha: alpha)
    }

    /// log(A_alpha) for integer alpha: log sum_i C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)).
    static func logAIntegerOrder(q: Double, sigma: Double, alpha: Int) -> Double {
        let logQ = Foundation.log(q), log1mQ = Foundation.log1p(-q)
        let twoSigma2 = 2 * sigma * sigma
        var logSum = -Double.infinity
        var binom = 1.0                                   // C(alpha, i), built up by the product formula
        for i in 0...alpha {
            if i > 0 { binom = binom * Double(alpha - i + 1) / Double(i) }
            let di = Double(i)
            let logCoef = Foundation.log(binom) + di * logQ + Double(alpha - i) * log1mQ
            logSum = LogSpace.add(logSum, logCoef + (di * di - di) / twoSigma2)
        }
        return logSum
    }

    /// log(A_alpha) for fractional alpha: the integrals over (-inf, z0] and [z0, inf) as two series in i,
    /// with z0 = sigma^2 log(1/q - 1) + 1/2, each term carrying a log-erfc factor; signed binomial
    /// coefficients add or subtract in log space. Stops after the first i where both terms are below exp(-30).
    static func logAFractionalOrder(q: Double, sigma: Double, alpha: Double) -> Double {
        var logA0 = -Double.infinity, logA1 = -Double.infinity
        let logQ = Foundation.log(q), log1mQ = Foundation.log1p(-q)
        let sigma2 = sigma * sigma
        let z0 = sigma2 * Foundation.log(1 / q - 1) + 0.5
        let sqrt2Sigma = 2.0.squareRoot() * sigma
        let logHalf = Foundation.log(0.5)
        var coef = 1.0                                    // C(alpha, i) for real alpha, by the product formula
        var i = 0
        while true {
            if i > 0 { coef = coef * (alpha - Double(i - 1)) / Double(i) }
            let di = Double(i)
            let logCoef = Foundation.log(Swift.abs(coef))
            let j = alpha - di
            let logT0 = logCoef + di * logQ + j * log1mQ
            let logT1 = logCoef + j * logQ + di * log1mQ
            let logE0 = logHalf + LogSpace.logErfc((di - z0) / sqrt2Sigma)
            let logE1 = logHalf + LogSpace.logErfc((z0 - j) / sqrt2Sigma)
            let logS0 = logT0 + (di * di - di) / (2 * sigma2) + logE0
            let logS1 = logT1 + (j * j - j) / (2 * sigma2) + logE1
            if coef > 0 {
                logA0 = LogSpace.add(logA0, logS0)
                logA1 = LogSpace.add(logA1, logS1)
            } else {
                logA0 = LogSpace.sub(logA0, logS0)
                logA1 = LogSpace.sub(logA1, logS1)
            }
            i += 1
            if Swift.max(logS0, logS1) < -30 || logA0.isNaN || logA1.isNaN { break }
        }
        return LogSpace.add(logA0, logA1)
    }
}
