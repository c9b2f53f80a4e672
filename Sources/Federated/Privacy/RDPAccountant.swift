import Foundation

/// Why a privacy computation could not give an answer.
public enum PrivacyAccountingError: Error, Equatable, CustomStringConvertible {
    /// No noise multiplier up to 1e6 reaches the target epsilon (Opacus: "The privacy budget is too low.").
    case budgetTooLow(targetEpsilon: Double, delta: Double, sampleRate: Double, steps: Int)
    /// An argument outside its domain (named, with the reason).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .budgetTooLow(eps, delta, q, steps):
            return "privacy budget too low: no noise multiplier up to 1e6 reaches epsilon=\(eps) "
                + "at delta=\(delta), sample rate \(q), \(steps) steps"
        case let .invalidArgument(why):
            return "invalid privacy accounting argument: \(why)"
        }
    }
}

/// Rényi-DP accountant for DP-SGD (the sampled Gaussian mechanism), equivalent to Opacus's
/// `RDPAccountant`: a history of (noise multiplier, sample rate, steps) whose RDP values add up, converted
/// to (epsilon, delta)-DP over `RDPAnalysis.defaultOrders`.
public struct RDPAccountant: Sendable, Codable, Equatable {
    /// One stretch of training with fixed parameters.
    public struct Entry: Sendable, Codable, Equatable {
        public var noiseMultiplier: Double
        public var sampleRate: Double
        public var steps: Int
        public init(noiseMultiplier: Double, sampleRate: Double, steps: Int) {
            self.noiseMultiplier = noiseMultiplier
            self.sampleRate = sampleRate
            self.steps = steps
        }
    }

    /// The mechanism applications so far (consecutive steps with equal parameters are merged, as Opacus does).
    public private(set) var history: [Entry] = []

    public init(history: [Entry] = []) { self.history = history }

    /// Records `steps` applications of the SGM with this noise multiplier and sample rate.
    public mutating func step(noiseMultiplier: Double, sampleRate: Double, steps: Int = 1) {
        if let last = history.last, last.noiseMultiplier == noiseMultiplier, last.sampleRate == sampleRate {
            history[history.count - 1].steps += steps
        } else {
            history.append(Entry(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps))
        }
    }

    /// (epsilon, best order) spent for `delta`; (0, 0) for an empty history, like Opacus.
    public func privacySpent(delta: Double, orders: [Double] = RDPAnalysis.defaultOrders) -> (epsilon: Double, order: Double) {
        if history.isEmpty { return (0, 0) }
        var total = [Double](repeating: 0, count: orders.count)
        for e in history {
            let r = RDPAnalysis.rdp(sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier,
                                    steps: e.steps, orders: orders)
            for k in 0..<total.count { total[k] += r[k] }
        }
        return RDPAnalysis.privacySpent(orders: orders, rdp: total, delta: delta)
    }

    /// Epsilon spent for `delta`.
    public func epsilon(delta: Double, orders: [Double] = RDPAnalysis.defaultOrders) -> Double {
        privacySpent(delta: delta, orders: orders).epsilon
    }

    /// Epsilon of `steps` applications of the SGM with one set of parameters.
    public static func epsilon(noiseMultiplier: Double, sampleRate: Double, steps: Int, delta: Double,
                               orders: [Double] = RDPAnalysis.defaultOrders) -> Double {
        RDPAccountant(history: [Entry(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps)])
            .epsilon(delta: delta, orders: orders)
    }

    /// The largest noise multiplier Opacus would search up to before giving up.
    public static let maxNoiseMultiplier = 1e6

    /// The noise multiplier that keeps `steps` SGM applications within (targetEpsilon, delta), found by
    /// Opacus's bisection (`opacus.accountants.utils.get_noise_multiplier`): start at [0, 10], double the
    /// upper end until its epsilon is at most the target, then halve the bracket until the upper end's
    /// epsilon is within `epsilonTolerance` below the target. Returns the upper end (never over budget).
    public static func noiseMultiplier(targetEpsilon: Double, delta: Double, sampleRate: Double, steps: Int,
                                       epsilonTolerance: Double = 0.01,
                                       orders: [Double] = RDPAnalysis.defaultOrders) throws -> Double {
        guard targetEpsilon > 0, targetEpsilon.isFinite else {
            throw PrivacyAccountingError.invalidArgument("target epsilon must be positive and finite, got \(targetEpsilon)")
        }
        guard delta > 0, delta < 1 else {
            throw PrivacyAccountingError.invalidArgument("delta must be in (0, 1), got \(delta)")
        }
        guard sampleRate > 0, sampleRate <= 1 else {
            throw PrivacyAccountingError.invalidArgument("sample rate must be in (0, 1], got \(sampleRate)")
        }
        guard steps >= 1 else {
            throw PrivacyAccountingError.invalidArgument("steps must be at least 1, got \(steps)")
        }
        func eps(_ sigma: Double) -> Double {
            epsilon(noiseMultiplier: sigma, sampleRate: sampleRate, steps: steps, delta: delta, orders: orders)
        }
        var epsHigh = Double.infinity
        var sigmaLow = 0.0, sigmaHigh = 10.0
        while epsHigh > targetEpsilon {
            sigmaHigh *= 2
            epsHigh = eps(sigmaHigh)
            if sigmaHigh > maxNoiseMultiplier {
                throw PrivacyAccountingError.budgetTooLow(targetEpsilon: targetEpsilon, delta: delta,
                                                          sampleRate: sampleRate, steps: steps)
            }
        }
        var iterations = 0
        while targetEpsilon - epsHigh > epsilonTolerance, iterations < 200 {   // the cap only guards NaN epsilons
            iterations += 1
            let sigma = (sigmaLow + sigmaHigh) / 2
            let e = eps(sigma)
            if e < targetEpsilon {
                sigmaHigh = sigma
                epsHigh = e
            } else {
                sigmaLow = sigma
            }
        }
        return sigmaHigh
    }
}
