import Foundation

/// A client-side defence (or a combination) applied to an update before it leaves the client, written as
/// a short string such as `laplace:level=100`, `dp:clip=4,sigma=0.5+prune:p=90` or `none`.
///
/// Components, at most one of each kind, always applied in the fixed order
/// **clip -> prune -> quantise -> noise**, whatever order the string lists them in:
/// - `clip:norm=C`: scale the whole update so that its global L2 norm is at most C. No noise, so it is
///   **not** differential privacy; reported with epsilon nil.
/// - `dp:clip=C,sigma=s` (or `epsilon=e` instead of `sigma`; optional `delta=` (default 1e-5),
///   `sample-rate=` (default 1) and `steps=` (default 1)): DP-SGD. Each per-example gradient is clipped to
///   L2 norm C (Opacus: factor min(1, C / (norm + 1e-6))), the clipped gradients are summed, N(0, (s C)^2)
///   is added to every entry and the result is divided by the batch size. Epsilon comes from the RDP
///   accountant (`RDPAccountant`) for `steps` releases at sampling rate `sample-rate`; with `epsilon=e` the
///   noise multiplier is Opacus's bisection for that target. Takes the clip and noise slots, so it cannot be
///   combined with `clip`, `laplace` or `gaussian`. When prune or quantise are combined with dp they act on
///   the clipped sum before the noise: the reported epsilon is then nominal (it assumes the noise protects
///   the clipped sum, whose sensitivity a data-dependent mask or quantiser can enlarge).
/// - `prune:p=P` (0 < P < 100): DGC / DLG-style gradient pruning, **per tensor** (layer-wise, as DGC):
///   in each tensor, every entry whose |value| is at or below that tensor's P-th percentile of |values|
///   (NumPy's linear interpolation) becomes 0. With distinct magnitudes that zeroes
///   floor(P (n - 1) / 100) + 1 of a tensor's n entries.
/// - `quantize:bits=k` (1 <= k <= 16): per-tensor k-bit uniform stochastic quantisation (QSGD-style):
///   2^k evenly spaced levels over the tensor's [min, max]; each value rounds to one of its two neighbouring
///   levels with probabilities that make the result unbiased, using the seeded generator.
///   `quantize:sign`: signSGD with scale: every entry becomes sign(x) * mean(|x|) of its tensor
///   (sign(0) = 0), i.e. at most three values per tensor.
/// - `laplace:level=L` | `laplace:scale=b` | `laplace:relative=r`: i.i.d. Laplace(0, b) noise on every entry
///   of every tensor. `level` follows the MedPFL paper's code, b = 1 / L: levels 100, 200, 300, 400 are
///   b = 0.01, 0.005, 0.0033, 0.0025, so **a higher level means LESS noise**. `relative=r` sets
///   b = r * (95th percentile of |update| over all entries).
/// - `gaussian:scale=s` | `gaussian:relative=r`: i.i.d. N(0, s^2) noise on every entry; `relative=r` sets
///   s = r * (95th percentile of |update| over all entries), as NVFlare's `GaussianPrivacy` filter does.
///   For both noise kinds the percentile is taken of the update as it reaches the noise step (after any
///   clip, prune or quantise), like a filter placed last in a chain.
/// - `secagg:clients=N` (N >= 2): secure aggregation over N clients. It does not change an individual
///   update: it is recorded here for the outer aggregation (the server only sees the sum of N updates).
///
/// `description` is the canonical string (components in the order dp, clip, prune, quantize, laplace,
/// gaussian, secagg; defaults omitted; numbers in shortest form) and parses back to an equal spec.
/// Codable as that string.
public struct DefenceSpec: Sendable, Hashable {
    /// Global L2 clipping without noise (`clip:norm=`): not DP.
    public var clipNorm: Double?
    /// DP-SGD (`dp:`), with its noise multiplier and epsilon resolved.
    public var dp: DPSpec?
    /// Per-tensor magnitude pruning percentage (`prune:p=`).
    public var prunePercent: Double?
    /// Quantisation (`quantize:`).
    public var quantization: Quantization?
    /// Element-wise Laplace or Gaussian noise (`laplace:` / `gaussian:`).
    public var noise: NoiseSpec?
    /// Number of clients in secure aggregation (`secagg:clients=`), applied by the aggregator.
    public var secureAggregationClients: Int?

    /// No defence at all (`none`).
    public static let none = DefenceSpec()

    public init(clipNorm: Double? = nil, dp: DPSpec? = nil, prunePercent: Double? = nil,
                quantization: Quantization? = nil, noise: NoiseSpec? = nil, secureAggregationClients: Int? = nil) {
        self.clipNorm = clipNorm
        self.dp = dp
        self.prunePercent = prunePercent
        self.quantization = quantization
        self.noise = noise
        self.secureAggregationClients = secureAggregationClients
    }

    /// True when nothing is applied to the update and no secure aggregation is requested.
    public var isNone: Bool { self == .none }

    /// True when the defence needs per-example gradients to be faithful (DP-SGD): use `applyDP(perExample:rng:)`.
    public var needsPerExampleGradients: Bool { dp != nil }

    /// Human-readable summary of the configured defence (before seeing an update), e.g.
    /// "Laplace b=0.01 (level 100)"; components joined by " + " in the order they are applied.
    public var label: String {
        var parts: [String] = []
        if let c = clipNorm { parts.append("clip L2<=\(formatForLabel(c)) (not DP)") }
        if let dp { parts.append(dp.label) }
        if let p = prunePercent { parts.append("prune \(formatForLabel(p))% smallest |u| per tensor") }
        if let q = quantization { parts.append(q.label) }
        if let n = noise { parts.append(n.label(realisedScale: nil)) }
        if let k = secureAggregationClients { parts.append("secure aggregation over \(k) clients") }
        return parts.isEmpty ? "no defence" : parts.joined(separator: " + ")
    }
}

/// How `quantize:` rounds values.
public enum Quantization: Sendable, Hashable, Codable {
    /// k-bit unbiased stochastic quantisation per tensor over [min, max] (`quantize:bits=k`).
    case stochastic(bits: Int)
    /// sign(x) * mean|x| per tensor (`quantize:sign`).
    case sign

    /// e.g. "4-bit stochastic quantisation".
    public var label: String {
        switch self {
        case let .stochastic(bits): return "\(bits)-bit stochastic quantisation per tensor"
        case .sign: return "sign x mean|u| per tensor (signSGD)"
        }
    }
}

/// Element-wise noise: which distribution and how its scale is set.
public struct NoiseSpec: Sendable, Hashable, Codable {
    public enum Distribution: String, Sendable, Hashable, Codable { case laplace, gaussian }
    /// How the scale (Laplace b, Gaussian sigma) is given.
    public enum Scale: Sendable, Hashable, Codable {
        /// MedPFL noise level L: Laplace b = 1 / L (higher level, less noise). Laplace only.
        case level(Double)
        /// The scale itself.
        case absolute(Double)
        /// r times the 95th percentile of |update| over all entries.
        case relative(Double)
    }
    public var distribution: Distribution
    public var scale: Scale

    public init(distribution: Distribution, scale: Scale) {
        self.distribution = distribution
        self.scale = scale
    }

    /// The scale when it does not depend on the update (nil for `relative`).
    public var fixedScale: Double? {
        switch scale {
        case let .level(l): return 1 / l
        case let .absolute(s): return s
        case .relative: return nil
        }
    }

    /// e.g. "Laplace b=0.01 (level 100)" or "Gaussian sigma=0.5 x p95|u| = 0.0012" once realised.
    public func label(realisedScale: Double?) -> String {
        let name = distribution == .laplace ? "Laplace b" : "Gaussian sigma"
        switch scale {
        case let .level(l): return "\(name)=\(formatForLabel(1 / l)) (level \(formatForLabel(l)))"
        case let .absolute(s): return "\(name)=\(formatForLabel(s))"
        case let .relative(r):
            let base = "\(name)=\(formatForLabel(r)) x p95|u|"
            return realisedScale.map { "\(base) = \(formatForLabel($0))" } ?? base
        }
    }
}

/// DP-SGD parameters with the noise multiplier and epsilon resolved when the spec is made.
public struct DPSpec: Sendable, Hashable, Codable {
    /// How the noise was asked for.
    public enum Noise: Sendable, Hashable, Codable {
        case noiseMultiplier(Double)
        case targetEpsilon(Double)
    }
    public static let defaultDelta = 1e-5
    public static let defaultSampleRate = 1.0
    public static let defaultSteps = 1

    /// Per-example L2 clipping bound C.
    public let clipNorm: Double
    public let requested: Noise
    public let delta: Double
    /// Poisson sampling rate q used by the accountant.
    public let sampleRate: Double
    /// Number of releases the accountant composes.
    public let steps: Int
    /// Noise multiplier sigma (noise std = sigma * C on the clipped sum).
    public let noiseMultiplier: Double
    /// Epsilon of `steps` releases at `delta` (RDP accountant).
    public let epsilon: Double

    /// Resolves the noise multiplier (bisection for a target epsilon) and the epsilon it gives.
    public init(clipNorm: Double, noise: Noise, delta: Double = defaultDelta,
                sampleRate: Double = defaultSampleRate, steps: Int = defaultSteps) throws {
        self.clipNorm = clipNorm
        self.requested = noise
        self.delta = delta
        self.sampleRate = sampleRate
        self.steps = steps
        switch noise {
        case let .noiseMultiplier(s):
            noiseMultiplier = s
        case let .targetEpsilon(e):
            noiseMultiplier = try RDPAccountant.noiseMultiplier(targetEpsilon: e, delta: delta,
                                                                sampleRate: sampleRate, steps: steps)
        }
        epsilon = RDPAccountant.epsilon(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate,
                                        steps: steps, delta: delta)
    }

    /// e.g. "DP-SGD C=4 sigma=0.5 (epsilon=10.7 at delta=1e-05, q=1, 1 step)".
    public var label: String {
        var s = "DP-SGD C=\(formatForLabel(clipNorm)) sigma=\(formatForLabel(noiseMultiplier)) ("
        if case let .targetEpsilon(t) = requested { s += "target epsilon=\(formatForLabel(t)): " }
        s += "epsilon=\(formatForLabel(epsilon)) at delta=\(formatForLabel(delta)), "
        s += "q=\(formatForLabel(sampleRate)), \(steps) step\(steps == 1 ? "" : "s"))"
        return s
    }
}

/// Three significant digits for labels ("0.01", "0.00333", "8.03", "100").
func formatForLabel(_ x: Double) -> String {
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return String(format: "%.3g", x)
}
