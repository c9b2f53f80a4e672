import Foundation

/// Whether a defence bounds what an attacker can learn from an update whatever the attack (a formal guarantee), or
/// only makes the attacks tried harder (a heuristic), with one sentence on why. Each component declares its own
/// (`DefenceSpec.Component.guarantee`); a combination is formal exactly when it holds DP-SGD, which bounds the whole
/// release however the other components transform it before the noise (their data-dependent steps make the stated
/// epsilon nominal, see `DefenceSpec`).
///
/// The reasons are short on purpose: they are printed in the settings table and the verdict of every report.
public struct DefenceGuarantee: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// (epsilon, delta)-differential privacy from the RDP accountant.
        case formal
        /// A transformation with no bound on what the update reveals.
        case heuristic
        /// Nothing applied.
        case none
    }
    public var kind: Kind
    /// Why, in one sentence per component (the formal component first).
    public var reason: String

    public init(kind: Kind, reason: String) { self.kind = kind; self.reason = reason }

    public var isFormal: Bool { kind == .formal }

    /// "formal (DP)", "no formal guarantee", "no defence".
    public var label: String {
        switch kind {
        case .formal: return "formal (DP)"
        case .heuristic: return "no formal guarantee"
        case .none: return "no defence"
        }
    }
}

extension DefenceSpec {
    /// One kind of component, as `DefenceSpec` holds them, each with its declared guarantee.
    public enum Component: String, Sendable, CaseIterable {
        case dp, clip, prune, quantize, noise, secagg

        /// What this component guarantees on its own.
        public var guarantee: DefenceGuarantee {
            switch self {
            case .dp:
                return .init(kind: .formal, reason: "DP-SGD clips every example's gradient and adds calibrated Gaussian noise, so the RDP "
                             + "accountant bounds what any attacker, with any attack, can learn about one example.")
            case .clip:
                return .init(kind: .heuristic, reason: "Clipping without noise only rescales the update: an attack matches its direction, "
                             + "so nothing is bounded.")
            case .prune:
                return .init(kind: .heuristic, reason: "Pruning keeps the largest entries, which carry most of the signal, and bounds nothing; "
                             + "attacks that match only the kept entries can still invert them.")
            case .quantize:
                return .init(kind: .heuristic, reason: "Quantisation rounds the update but keeps its direction and bounds nothing an attack can use.")
            case .noise:
                return .init(kind: .heuristic, reason: "Noise without per-example clipping has no bounded sensitivity, so no epsilon can be "
                             + "stated: its protection is only what the attacks tried here show.")
            case .secagg:
                return .init(kind: .heuristic, reason: "Secure aggregation hides each update inside a sum, but bounds nothing about what the sum "
                             + "reveals (the attacks here run on the sum), and a malicious server can shrink the group.")
            }
        }
    }

    /// The components this spec holds, in the canonical order.
    public var components: [Component] {
        var out: [Component] = []
        if dp != nil { out.append(.dp) }
        if clipNorm != nil { out.append(.clip) }
        if prunePercent != nil { out.append(.prune) }
        if quantization != nil { out.append(.quantize) }
        if noise != nil { out.append(.noise) }
        if secureAggregationClients != nil { out.append(.secagg) }
        return out
    }

    /// The guarantee of the whole spec: formal when it holds DP-SGD, none without components, heuristic otherwise; the
    /// reason lists each component's sentence.
    public var guarantee: DefenceGuarantee {
        let parts = components
        guard !parts.isEmpty else {
            return .init(kind: .none, reason: "no defence is applied: the update leaves the client as computed, and nothing bounds what it reveals.")
        }
        var reason = parts.map(\.guarantee.reason).joined(separator: " ")
        if dp != nil, prunePercent != nil || quantization != nil {
            reason += " Combined with pruning or quantisation before the noise, the stated epsilon is nominal."
        }
        return .init(kind: dp != nil ? .formal : .heuristic, reason: reason)
    }

    /// Epsilon of the whole training the site runs with this spec: `rounds` updates, each accounted as the spec says
    /// (its `steps` releases at sampling rate `sampleRate`, or the spec's own rate when nil), composed by the RDP
    /// accountant at the spec's delta. nil when the spec is not DP.
    public func trainingEpsilon(rounds: Int, sampleRate: Double? = nil) -> Double? {
        guard let dp, rounds >= 1 else { return nil }
        let (steps, overflow) = dp.steps.multipliedReportingOverflow(by: rounds)
        guard !overflow else { return .infinity }
        return RDPAccountant.epsilon(noiseMultiplier: dp.noiseMultiplier, sampleRate: sampleRate ?? dp.sampleRate,
                                     steps: steps, delta: dp.delta)
    }
}
