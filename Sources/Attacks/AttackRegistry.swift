import Foundation

/// Every attack medpfl runs, in the order help texts and reports list them. Adding an attack: one file
/// with a type conforming to `AttackMethod` (usually `OptimisationAttack`), and one line here.
public enum AttackRegistry {
    public static let all: [any AttackMethod.Type] = [
        DLG.self,
        IDLG.self,
        CPL.self,
        GradInv.self,
        GradInversion.self,
        AnalyticAttack.self,
        BatchLabelRestoration.self,
        Imprint.self,
    ]

    /// The registered names, in order.
    public static let keys: [String] = all.map { $0.key }

    /// The attack of this name (its kind can only be made for a registered name).
    public static func method(_ kind: AttackKind) -> any AttackMethod.Type {
        guard let m = all.first(where: { $0.key == kind.rawValue }) else {
            preconditionFailure("AttackKind '\(kind.rawValue)' is not registered")   // unreachable: AttackKind checks
        }
        return m
    }

    /// "dlg, idlg, cpl, gradinv or analytic".
    public static var keysInWords: String {
        keys.count <= 1 ? keys.joined() : keys.dropLast().joined(separator: ", ") + " or " + keys.last!
    }

    /// The attacks and their settings as a Markdown section (audits/SCHEMA.md holds it; a test checks that
    /// it is current; `medpfl attacks --markdown` prints it).
    public static var markdown: String {
        var out = "| Attack | Threat model (as `threat_models` names it) | Settings (default) |\n|---|---|---|\n"
        for m in all {
            let d = m.defaults
            let settings = m.parameters.isEmpty ? "none" : m.parameters.map { p in
                "`\(p.key)` (\(p.typeText); \(p.value(in: d))): \(p.doc)"
            }.joined(separator: "<br>")
            out += "| `\(m.key)`: \(m.displayName), \(m.citation) | `\(m.threatModel.scopeName)` | \(settings) |\n"
        }
        return out
    }

    /// The attacks and their settings as plain text (for `medpfl attack --help` and `medpfl attacks`).
    public static var text: String {
        all.map { m in
            let d = m.defaults
            var s = "\(m.key): \(m.displayName) (\(m.citation)); threat model \(m.threatModel.scopeName) (\(m.threatModel.inWords))."
            if m.parameters.isEmpty { s += " No settings." }
            for p in m.parameters { s += "\n  \(p.key) (\(p.typeText.replacingOccurrences(of: "`", with: "")), default \(p.value(in: d)))" }
            return s
        }.joined(separator: "\n")
    }
}
