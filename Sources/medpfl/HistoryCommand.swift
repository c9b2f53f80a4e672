import ArgumentParser
import Audit
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the audits in the audit log, oldest first, with their status and overall risk.")

    @Option(help: "Only the audits of this site.") var site: String?
    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Row: Encodable {
        let id: Int64, site: String, model: String, modelVersion: String, startedAt: Date, finishedAt: Date?
        let status: String, shard: String?, trialsRecorded: Int, trialsPlanned: Int
        let siteRisk: String?, recommended: String?
    }

    func run() throws {
        let store = try auditInput { try AuditStore(readingAt: db) }
        let rows = try store.audits(site: site).map { a -> Row in
            let recs = try store.recommendations(audit: a.id)
            return Row(id: a.id, site: a.site, model: a.model, modelVersion: a.modelVersion, startedAt: a.startedAt,
                       finishedAt: a.finishedAt, status: a.statusText, shard: a.shard,
                       trialsRecorded: try store.trialCount(audit: a.id), trialsPlanned: a.trialsPlanned,
                       siteRisk: recs.first { $0.kind == .site }?.band,
                       recommended: recs.first { $0.kind == .recommended }?.setting)
        }
        if json { try printAuditJSON(rows); return }
        if rows.isEmpty { print("No audits" + (site.map { " of \($0)" } ?? "") + " in \(db)."); return }
        let header = ["ID", "Started (UTC)", "Site", "Model", "Status", "Trials", "Risk", "Recommended / least risky"]
        let table = rows.map { r in
            [String(r.id), timestampText(r.startedAt), r.site, "\(r.model) \(r.modelVersion)",
             r.status + (r.shard.map { " (shard \($0))" } ?? ""), "\(r.trialsRecorded)/\(r.trialsPlanned)",
             r.siteRisk ?? "-", r.recommended ?? "-"]
        }
        print(textTable(header: header, rows: table))
    }
}

/// "2025-03-01 14:05" in UTC.
func timestampText(_ d: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm"
    return f.string(from: d)
}

/// Left-aligned columns separated by two spaces.
func textTable(header: [String], rows: [[String]]) -> String {
    let all = ([header] + rows).map { $0.map(TerminalText.oneLine) }
    let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
}
