import Foundation

/// A question to the RDP accountant, as `medpfl dp-epsilon` asks it: the epsilon of a DP-SGD run, or the
/// noise multiplier that reaches a target epsilon.
public struct EpsilonQuery: Sendable, Codable, Equatable {
    /// The noise multiplier sigma (given, or found for `targetEpsilon`).
    public var sigma: Double
    public var sampleRate: Double
    public var steps: Int
    public var delta: Double
    /// The epsilon that was asked for, if the question was "which sigma?".
    public var targetEpsilon: Double?
    /// Epsilon of `steps` applications of the sampled Gaussian mechanism at `sampleRate` and `sigma`.
    public var epsilon: Double
    /// The Rényi order at which the epsilon bound is tightest.
    public var bestOrder: Double

    /// Answers the question: with `sigma`, the epsilon it spends; with `targetEpsilon` (and no sigma), the
    /// noise multiplier Opacus's bisection finds and the epsilon it spends.
    /// - Throws: `PrivacyAccountingError` for arguments outside their domain or an unreachable target.
    public init(sigma: Double?, targetEpsilon: Double?, sampleRate: Double, steps: Int, delta: Double) throws {
        guard sampleRate > 0, sampleRate <= 1 else {
            throw PrivacyAccountingError.invalidArgument("sample rate must be in (0, 1], got \(sampleRate)")
        }
        guard steps >= 1 else { throw PrivacyAccountingError.invalidArgument("steps must be at least 1, got \(steps)") }
        guard delta > 0, delta < 1 else { throw PrivacyAccountingError.invalidArgument("delta must be in (0, 1), got \(delta)") }
        let s: Double
        switch (sigma, targetEpsilon) {
        case let (given?, nil):
            guard given > 0, given.isFinite else {
                throw PrivacyAccountingError.invalidArgument("sigma must be positive and finite, got \(given)")
            }
            s = given
        case let (nil, target?):
            s = try RDPAccountant.noiseMultiplier(targetEpsilon: target, delta: delta, sampleRate: sampleRate, steps: steps)
        case (nil, nil):
            throw PrivacyAccountingError.invalidArgument("give sigma (to get epsilon) or a target epsilon (to get sigma)")
        default:
            throw PrivacyAccountingError.invalidArgument("give sigma or a target epsilon, not both")
        }
        let accountant = RDPAccountant(history: [.init(noiseMultiplier: s, sampleRate: sampleRate, steps: steps)])
        let spent = accountant.privacySpent(delta: delta)
        self.sigma = s
        self.sampleRate = sampleRate
        self.steps = steps
        self.delta = delta
        self.targetEpsilon = targetEpsilon
        self.epsilon = spent.epsilon
        self.bestOrder = spent.order
    }
}
