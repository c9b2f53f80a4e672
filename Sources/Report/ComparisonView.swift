import Foundation

/// The comparison with the previous audit of the same site, ready for the template: per attack x
/// setting the change in attack success rate, mean SSIM and risk band. Rows are matched by attack id
/// and setting id; combinations present in only one audit are named in a sentence below the table.
struct ComparisonView {
    struct Line {
        let attack: String
        let setting: String
        let asr: String
        let ssim: String
        let band: String
        let change: String
    }

    let previousID: String
    let previousDate: String
    let previousTool: String
    /// Pre-escaped Markdown sentence on the declared setting then and now.
    let declaredChange: String
    let lines: [Line]
    let hasLines: Bool
    /// Pre-escaped Markdown sentence naming the combinations tested in only one of the audits (nil if none).
    let unmatched: String?

    init?(_ data: ReportData) {
        guard let p = data.previous else { return nil }
        previousID = p.auditID
        previousDate = ReportNumbers.longDate(p.startedAt)
        previousTool = p.toolVersion
        let md = Escaping.markdown
        let nowDeclared = data.setting(data.metadata.declaredSetting)!
        let thenLabel = data.setting(p.declaredSetting).map { md($0.label) } ?? Escaping.codeSpan(p.declaredSetting)
        var s = "Declared setting then: \(thenLabel), rated **\(ReportData.RiskLevel.title(p.declaredBand))**. "
        s += "Now: \(md(nowDeclared.label)), rated **\(ReportData.RiskLevel.title(nowDeclared.band))**"
        s += " (" + Self.direction(p.declaredBand, nowDeclared.band) + ")."
        declaredChange = s

        var lines: [Line] = [], added: [String] = [], dropped: [String] = []
        var seen = Set<String>()
        for setting in data.settings {
            for attack in data.attacks {
                guard let now = data.row(attack: attack.id, setting: setting.id) else { continue }
                seen.insert(attack.id + "\u{0}" + setting.id)
                if let then = p.rows.first(where: { $0.attack == attack.id && $0.setting == setting.id }) {
                    lines.append(Self.line(attack: attack.name, setting: setting.label, then: then, now: now))
                } else {
                    added.append("\(md(attack.name)) at \(md(setting.label))")
                }
            }
        }
        for then in p.rows where !seen.contains(then.attack + "\u{0}" + then.setting) {
            let attack = data.attack(then.attack)?.name ?? then.attack
            let setting = data.setting(then.setting)?.label ?? then.setting
            dropped.append("\(md(attack)) at \(md(setting))")
        }
        self.lines = lines
        hasLines = !lines.isEmpty
        var u: [String] = []
        if !added.isEmpty { u.append("New in this audit: " + added.joined(separator: "; ") + ".") }
        if !dropped.isEmpty { u.append("Tested before but not in this audit: " + dropped.joined(separator: "; ") + ".") }
        unmatched = u.isEmpty ? nil : u.joined(separator: " ")
    }

    static func line(attack: String, setting: String, then t: ReportData.Row, now n: ReportData.Row) -> Line {
        Line(attack: attack, setting: setting,
             asr: "\(ReportNumbers.percent(t.asr)) → \(ReportNumbers.percent(n.asr)) (\(ReportNumbers.signed((n.asr - t.asr) * 100, decimals: 0, unit: "pp")))",
             ssim: "\(ReportNumbers.ssim(t.meanSSIM)) → \(ReportNumbers.ssim(n.meanSSIM)) (\(ReportNumbers.signed(n.meanSSIM - t.meanSSIM, decimals: 2)))",
             band: "\(ReportData.RiskLevel.title(t.band)) → \(ReportData.RiskLevel.title(n.band))", change: direction(t.band, n.band))
    }

    static func direction(_ then: ReportData.RiskLevel?, _ now: ReportData.RiskLevel?) -> String {
        guard let then, let now else { return then == now ? "unchanged" : "not comparable (not assessed in one audit)" }
        return now == then ? "unchanged" : (now < then ? "lower risk" : "higher risk")
    }
}
