import Foundation
import NN
import Tensor

/// An attack medpfl can run: one type conforming to this protocol, listed once in `AttackRegistry`.
/// Everything that shows or checks attacks (the audit file's schema check, `medpfl attack --help`,
/// audits/SCHEMA.md, the report's method notes, `medpfl show`, the JSON) reads these properties; nothing
/// switches over attacks. See docs/ARCHITECTURE.md, "Adding an attack".
///
/// The threat model is kept by the API: `run` receives only what an attacker holds (`AttackProblem`: the
/// model, the weights the server sent, the intercepted update and the batch size). The original images live
/// in the Evaluation target, above this one, and are used only to score a finished result.
public protocol AttackMethod: Sendable {
    /// The attack's name in audit files, on the command line, in trial keys and in the log ("dlg").
    static var key: String { get }
    /// How reports name it ("DLG").
    static var displayName: String { get }
    /// The publication it follows ("Zhu et al. 2019, Deep Leakage from Gradients, NeurIPS").
    static var citation: String { get }
    /// Who is assumed to attack.
    static var threatModel: ThreatModel { get }
    /// The settings of the original paper's code, per start.
    static var defaults: AttackConfig { get }
    /// The settings an audit file or the command line may override, with their types, ranges and docs.
    static var parameters: [AttackParameter] { get }
    /// Whether the attack optimises dummy label logits along with the images (a given start then needs them).
    static var optimisesLabels: Bool { get }
    /// Why the attack does not apply to this model and batch, or nil when it does.
    static func inapplicability(model: Model, batchSize: Int) -> String?
    /// How the attack was run, in words, for the report's method notes ("L-BFGS, 300 steps of up to 20
    /// iterations, ...").
    static func describe(_ config: AttackConfig) -> String
    /// A short form for `medpfl show` ("300 L-BFGS steps, randn start, 4 restarts").
    static func summary(_ config: AttackConfig) -> String
    /// Runs the attack on one intercepted update. `start`, when given, replaces the first start's random
    /// dummy batch; every random draw comes from `seed`.
    static func run(_ config: AttackConfig, on problem: AttackProblem, seed: UInt64, start: AttackStart?,
                    progress: AttackProgress?) throws -> AttackResult
    /// The model the server sends the clients for this attack: nil for the site's own model (every attack of
    /// an honest-but-curious server), or a malicious server's modification of it (with its weights); the
    /// clients then compute their updates on it, and the attack's problem holds it. Draws come from `seed`.
    static func servedModel(_ config: AttackConfig, model: Model, state: ModelState, seed: UInt64) throws -> (model: Model, state: ModelState)?
    /// What the attack assumes the attacker knows or does, in words, for the report and `medpfl attacks`
    /// ("labels restored from the update", "BN running statistics known", "architecture modified").
    static var assumptions: [String] { get }
    /// Whether the attack rebuilds images at all (false for batch label restoration, whose result images are a
    /// flat placeholder): scoring then counts no image as rebuilt and gives it SSIM 0, since a flat grey image
    /// can score SSIM 0.5 or more against scans with flat backgrounds without revealing anything.
    static var reconstructsImages: Bool { get }
    /// Whether the attack differentiates through the model's gradient (gradient matching: the graph of the
    /// gradient is held); false for read-outs of one gradient (analytic, label restoration, imprint), which need
    /// far less memory (`Model.memoryEstimate(batch:secondOrder:)`).
    static var differentiatesGradient: Bool { get }
}

extension AttackMethod {
    public static var optimisesLabels: Bool { false }
    public static func inapplicability(model: Model, batchSize: Int) -> String? { nil }
    public static func servedModel(_ config: AttackConfig, model: Model, state: ModelState, seed: UInt64) throws -> (model: Model, state: ModelState)? { nil }
    public static var assumptions: [String] { ["the model and the weights the server sent", "the batch size"] }
    public static var reconstructsImages: Bool { true }
    public static var differentiatesGradient: Bool { true }
    /// "DLG (Zhu et al. 2019)": the name with the first part of the citation.
    public static var nameWithCitation: String {
        let short = citation.split(separator: ",").first.map(String.init) ?? citation
        return "\(displayName) (\(short))"
    }
}

/// Who the attack assumes the attacker is.
public enum ThreatModel: String, Sendable, Codable, CaseIterable {
    /// The server follows the protocol but reads what it receives (or an eavesdropper reads the update).
    case honestButCurious = "honest-but-curious"
    /// The server changes the model it sends to make the update leak more.
    case maliciousServer = "malicious-server"

    /// The threat models an audit can put in scope, as audit files name them.
    public var scopeName: String {
        switch self {
        case .honestButCurious: return "eavesdropper"
        case .maliciousServer: return "malicious-server"
        }
    }

    public var inWords: String {
        switch self {
        case .honestButCurious: return "an honest-but-curious server, or an eavesdropper on the update"
        case .maliciousServer: return "a malicious server that modifies the model it sends"
        }
    }
}

/// The name of an attack, e.g. "dlg". Only names in `AttackRegistry` can be made; it is coded as its name,
/// so the audit log and JSON hold plain strings.
public struct AttackKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// nil unless an attack of this name is registered.
    public init?(rawValue: String) {
        guard AttackRegistry.keys.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    init(registered key: String) { rawValue = key }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let k = AttackKind(rawValue: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown attack '\(s)' (known: \(AttackRegistry.keys.joined(separator: ", ")))")
        }
        self = k
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }
    public static func < (a: AttackKind, b: AttackKind) -> Bool { a.rawValue < b.rawValue }

    /// The registered attack of this name.
    public var method: any AttackMethod.Type { AttackRegistry.method(self) }

    /// Every registered attack, in registry order.
    public static var allCases: [AttackKind] { AttackRegistry.keys.map(AttackKind.init(registered:)) }

    public static let dlg = AttackKind(registered: DLG.key)
    public static let idlg = AttackKind(registered: IDLG.key)
    public static let cpl = AttackKind(registered: CPL.key)
    public static let gradinv = AttackKind(registered: GradInv.key)
    public static let analytic = AttackKind(registered: AnalyticAttack.key)
    public static let ilrg = AttackKind(registered: BatchLabelRestoration.key)
    public static let imprint = AttackKind(registered: Imprint.key)
    public static let gradinversion = AttackKind(registered: GradInversion.key)
}
