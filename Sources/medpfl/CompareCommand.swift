import ArgumentParser
import Audit
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two audits: attack success and SSIM per attack and defence, risk changes, recommendations.",
        discussion: "Works across model versions and settings; differences in the configuration are listed first.")

    @Argument(help: "The earlier audit (A).") var a: Int64
    @Argument(help: "The later audit (B).") var b: Int64
    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Output: Encodable {
        struct Row: Encodable {
            let attack: String, defence: String, change: String
            let asrA: Double?, asrB: Double?, deltaASR: Double?, meanSSIMA: Double?, meanSSIMB: Double?, deltaMeanSSIM: Double?
            let maxSSIMA: Double?, maxSSIMB: Double?, bandA: String?, bandB: String?
        }
        let a: AuditComparison.Side, b: AuditComparison.Side, settingsDiffer: Bool, settingDifferences: [String], rows: [Row]
    }

    func run() throws {
        let store = try auditInput { try AuditStore(readingAt: db) }
        let c = try auditInput { try AuditComparison.compare(store, a, b) }
        if json {
            try printAuditJSON(Output(a: c.a, b: c.b, settingsDiffer: !c.settingDifferences.isEmpty, settingDifferences: c.settingDifferences,
                                 rows: c.rows.map { r in
                                     Output.Row(attack: r.attack, defence: r.defence, change: r.change, asrA: r.asrA, asrB: r.asrB,
                                                deltaASR: r.deltaASR, meanSSIMA: r.meanSSIMA, meanSSIMB: r.meanSSIMB,
                                                deltaMeanSSIM: r.deltaMeanSSIM, maxSSIMA: r.maxSSIMA, maxSSIMB: r.maxSSIMB,
                                                bandA: r.bandA?.rawValue, bandB: r.bandB?.rawValue)
                                 }))
            return
        }
        for (tag, s) in [("A", c.a), ("B", c.b)] {
            print("\(tag): audit \(s.id) of \(s.site), \(timestampText(s.startedAt)) UTC, model \(s.model) version \"\(s.modelVersion)\" "
                  + "(SHA-256 \(s.modelSHA256.prefix(12))...), \(s.status.rawValue)")
        }
        print("")
        if c.settingDifferences.isEmpty {
            print("Settings: identical (same model weights, images, attacks, defences and thresholds).")
        } else {
            print("Settings differ, so part of any change below may come from them:")
            for d in c.settingDifferences.prefix(25) { print("  \(d)") }
            if c.settingDifferences.count > 25 { print("  ... and \(c.settingDifferences.count - 25) more") }
        }
        print("")
        print("Overall risk: \(c.a.siteRisk?.rawValue ?? "unknown") (declared \(c.a.declared)) -> \(c.b.siteRisk?.rawValue ?? "unknown") (declared \(c.b.declared))")
        print("Recommendation then: \(c.a.recommendation)")
        print("Recommendation now:  \(c.b.recommendation)")
        print("")
        func v(_ x: Double?, _ f: (Double) -> String) -> String { x.map(f) ?? "-" }
        func delta(_ x: Double?, pct isPct: Bool) -> String {
            guard let x else { return "-" }
            return isPct ? String(format: "%+.0f pts", x * 100) : String(format: "%+.2f", x)
        }
        let rows = c.rows.map { r in
            [r.defence, r.attack, v(r.asrA, pct), v(r.asrB, pct), delta(r.deltaASR, pct: true), v(r.meanSSIMA, f2), v(r.meanSSIMB, f2),
             delta(r.deltaMeanSSIM, pct: false), "\(r.bandA?.rawValue ?? "n/a") -> \(r.bandB?.rawValue ?? "n/a")", r.change]
        }
        print(textTable(header: ["Defence", "Attack", "Rebuilt A", "Rebuilt B", "Change", "SSIM A", "SSIM B", "Change", "Risk", ""], rows: rows))
    }
}
