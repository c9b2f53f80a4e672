import Attacks
import Foundation

/// The verdict against one threat model the audit puts in scope (`threat_models:`): the same bands as the
/// whole assessment, over only the attacks of that threat model.
///
/// Each attack declares its threat model (`AttackMethod.threatModel`). An eavesdropper (or an honest-but-curious
/// server) reads the updates of the model the site runs; a malicious server changes the model it sends (the
/// imprint attack) and may defeat defences that stop the eavesdropper, or the reverse. The site's overall risk is
/// the highest band among the threat models in scope (`RiskReport.overallRisk`), and `--fail-on` judges that.
public struct ThreatRisk: Codable, Sendable, Equatable {
    /// One setting's band against this threat model, and what drove it.
    public struct Setting: Codable, Sendable, Equatable {
        public var defence: String
        public var label: String
        /// nil when no attack of this threat model applied at this setting.
        public var band: RiskBand?
        /// The strongest attack of this threat model here, in words ("imprint rebuilt 11 of 16 images ...").
        public var strongest: String?
    }

    public var threatModel: ThreatModel
    /// The audit's attacks (their labels) of this threat model; empty when the audit ran none (not assessed).
    public var attacks: [String]
    /// Every tested setting, in the definition's order.
    public var settings: [Setting]
    /// The band at the declared setting (nil: not assessed).
    public var siteRisk: RiskBand?
    /// The setting recommended against this threat model alone, as `RiskAssessment.recommend` chooses it.
    public var recommended: String?
    public var leastRisky: String?
    public var reason: RecommendationReason?
    public var recommendation: String

    /// The settings that leave this threat model LOW: the defences that stop it, as measured.
    public var stoppedBy: [String] { settings.filter { $0.band == .low }.map(\.defence) }

    /// Whether any attack of this threat model ran and applied.
    public var assessed: Bool { settings.contains { $0.band != nil } }

    /// One or two sentences: the band at the declared setting, and which tested settings stop it.
    public func summary(declared: String) -> String {
        let who = threatModel.inWords
        guard !attacks.isEmpty else {
            return "Against \(who): not assessed (the audit ran no attack of this threat model"
                + (threatModel == .maliciousServer ? "; add the imprint attack)." : ").")
        }
        guard assessed else { return "Against \(who): not assessed (no attack of this threat model applied to this model)." }
        var s = "Against \(who) (\(attacks.joined(separator: ", "))): \(siteRisk?.rawValue ?? "not assessed") at the declared setting (\(declared))."
        let stops = stoppedBy
        let others = settings.filter { $0.band != nil && $0.band != .low }
        if stops.isEmpty {
            s += " None of the tested settings stops it (none is LOW)."
        } else if others.isEmpty {
            s += " Every tested setting leaves it LOW."
        } else {
            s += " LOW (stopped) at: \(stops.joined(separator: ", ")); not stopped by: "
                + others.map { "\($0.defence) (\($0.band!.rawValue))" }.joined(separator: ", ") + "."
        }
        return s
    }
}

extension RiskAssessment {
    /// The assessment restricted to each threat model in `scope`, from the settings already assessed over every
    /// attack (`attackThreat` maps an attack label to its threat model).
    static func threats(_ settings: [SettingRisk], scope: [ThreatModel], attackThreat: [String: ThreatModel],
                        declared: String, site: String, utilityMeasured: Bool, budget: Double?, thresholds t: RiskThresholds) -> [ThreatRisk] {
        scope.map { tm in
            let labels = settings.first?.attacks.map(\.attack).filter { attackThreat[$0] == tm } ?? []
            let sub = settings.map { s -> SettingRisk in
                var r = s
                r.attacks = s.attacks.filter { labels.contains($0.attack) }
                r.band = r.attacks.compactMap(\.band).max()
                r.labelLeakage = r.attacks.map(\.labelLeakage).max() ?? 0
                return r
            }
            var report = RiskReport(site: site, settings: sub, declared: declared, siteRisk: sub.first { $0.defence == declared }?.band,
                                    recommended: nil, recommendation: "", leastRisky: nil, utilityMeasured: utilityMeasured, thresholds: t)
            if labels.isEmpty {
                report.recommendation = "Not assessed: the audit ran no attack of this threat model."
            } else {
                recommend(&report, budget: budget)
            }
            let lines = sub.map { s in
                ThreatRisk.Setting(defence: s.defence, label: s.label, band: s.band,
                                   strongest: s.attacks.filter { $0.band != nil }.max { ($0.asr, $0.maxSSIM) < ($1.asr, $1.maxSSIM) }.map(attackSentence))
            }
            return ThreatRisk(threatModel: tm, attacks: labels, settings: lines, siteRisk: report.siteRisk, recommended: report.recommended,
                              leastRisky: report.leastRisky, reason: labels.isEmpty ? nil : report.reason, recommendation: report.recommendation)
        }
    }
}

extension RiskReport {
    /// The site's overall risk: the highest band among the threat models in scope (the band of the declared
    /// setting over every attack, which is the same value; assessments stored before threat models had only that).
    public var overallRisk: RiskBand? {
        guard let t = threats, !t.isEmpty else { return siteRisk }
        return t.compactMap(\.siteRisk).max()
    }
}
