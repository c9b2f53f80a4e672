import Audit
import Foundation

/// One site's risk over time, audit by audit (`medpfl report --history`): the band at the declared setting, the best
/// SSIM, the re-identification rate and the label leakage there, the model version, each audit linked to its report.
///
/// Figures are those of the declared setting, the one the site runs, as the report's banner states them; only finished
/// audits count (an unfinished or shard audit covers part of the grid).
public struct SiteHistory: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var auditID: Int64
        public var startedAt: Date
        public var model: String
        public var modelVersion: String
        /// The declared setting (spec) and its band.
        public var declared: String
        public var band: ReportData.RiskLevel?
        /// Highest over the attacks at the declared setting; nil when no attack applied or, for re-identification,
        /// when it was not measured (audits before it was).
        public var bestSSIM: Double?
        public var reidentification: Double?
        public var labelLeakage: Double?
        /// The report, relative to the history page.
        public var reportPath: String
    }

    public var site: String
    public var entries: [Entry]

    public init(site: String, entries: [Entry]) { self.site = site; self.entries = entries }

    /// The finished audits of `site` in `store`, oldest first; each report at `audit-ID/report.html`.
    public init(store: AuditStore, site: String) throws {
        var entries: [Entry] = []
        for a in try store.audits(site: site) where a.status == .finished && a.shard == nil {
            let id = a.id
            let risk = try store.assessment(audit: id)
            let declared = risk.settings.first { $0.defence == risk.declared }
            let applied = declared?.attacks.filter { $0.band != nil } ?? []
            entries.append(Entry(auditID: id, startedAt: a.startedAt, model: a.model, modelVersion: a.modelVersion,
                                 declared: risk.declared, band: declared?.band.map(AuditAdapter.level),
                                 bestSSIM: applied.map(\.maxSSIM).max(), reidentification: declared?.reidentification,
                                 labelLeakage: applied.isEmpty ? nil : applied.map(\.labelLeakage).max(),
                                 reportPath: Self.reportFolder(id) + "/report.html"))
        }
        self.init(site: site, entries: entries)
    }

    /// The folder of audit `id`'s report beside the history page.
    public static func reportFolder(_ id: Int64) -> String { "audit-\(id)" }

    /// The chart: best SSIM, re-identification and label leakage per audit (x = the audit's place in time, labelled
    /// by id and date), points coloured by band, a marker where the model version changes.
    public func chart() -> SVGLineChart {
        var c = SVGLineChart(title: "Risk at the declared setting, audit by audit", xLabel: "audit (oldest first)",
                             yLabel: "SSIM / rate", xDomain: 0.5...(Double(max(entries.count, 1)) + 0.5), yDomain: 0...1,
                             yTickFormat: { String(format: "%g", $0) })
        c.automaticXTicksUpTo = -1
        c.extraXTicks = entries.enumerated().map { (Double($0.offset + 1), "#\($0.element.auditID) \(ReportNumbers.shortDate($0.element.startedAt))") }
        let colours = entries.map { SiteHistory.colour($0.band) }
        func series(_ name: String, _ colour: String, _ dash: String?, _ value: (Entry) -> Double?) -> SVGLineChart.Series? {
            let pts = entries.enumerated().compactMap { k, e in value(e).map { (x: Double(k + 1), y: $0) } }
            let cols = entries.enumerated().compactMap { k, e in value(e).map { _ in colours[k] } }
            return pts.isEmpty ? nil : SVGLineChart.Series(name: name, color: colour, points: pts, pointColors: cols, dash: dash)
        }
        c.series = [series("best SSIM", "#1f4e79", nil, \.bestSSIM), series("re-identification rate", "#8250df", "6 3", \.reidentification),
                    series("label leakage", "#bc4c00", "2 3", \.labelLeakage)].compactMap { $0 }
        var last: String? = nil
        for (k, e) in entries.enumerated() {
            let version = "\(e.model) \(e.modelVersion)"
            if version != last { c.markers.append(.init(x: Double(k + 1), label: "model \(version)", color: "#57606a")) }
            last = version
        }
        c.swatches = [ReportData.RiskLevel.low, .medium, .high].map { .init(label: "\($0.title) risk", color: SiteHistory.colour($0)) }
        return c
    }

    static func colour(_ band: ReportData.RiskLevel?) -> String { band?.color ?? ReportData.RiskLevel.notAssessedColor }

    /// The page: a heading, the chart, and a table of the audits linked to their reports. Self-contained (inline CSS
    /// and SVG); every value escaped.
    public func html(generated: Date = Date()) -> String {
        func h(_ s: String) -> String { Escaping.html(s) }
        func num(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "—" }
        func pct(_ x: Double?) -> String { x.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }
        var rows = ""
        var last: String? = nil
        for e in entries {
            let version = "\(e.model) \(e.modelVersion)"
            let changed = last != nil && version != last
            last = version
            let band = e.band.map { "<strong class=\"band band-\($0.rawValue)\">\(h($0.title))</strong>" } ?? "not assessed"
            rows += "<tr><td><a href=\"\(h(e.reportPath))\">audit \(e.auditID)</a></td><td>\(h(ReportNumbers.longDate(e.startedAt)))</td>"
                + "<td>\(h(version))\(changed ? " <em>(new version)</em>" : "")</td><td><code>\(h(e.declared))</code></td><td>\(band)</td>"
                + "<td>\(num(e.bestSSIM))</td><td>\(pct(e.reidentification))</td><td>\(pct(e.labelLeakage))</td></tr>\n"
        }
        let chart = entries.isEmpty ? "<p>No finished audit of this site in the log.</p>" : chart().svg()
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Gradient-leakage risk over time: \(h(site))</title>
        <style>
        body { font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif; color: #1a1a1a; max-width: 62rem;
          margin: 0 auto; padding: 1.5rem 2rem 3rem; line-height: 1.45; font-size: 15px; }
        h1 { font-size: 1.6rem; margin: 0 0 .6rem; }
        table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .9rem; }
        th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
        th { background: #eef1f4; }
        td:nth-child(n+6) { text-align: right; white-space: nowrap; }
        svg.chart { display: block; width: 100%; max-width: 760px; height: auto; margin: .8rem auto; }
        strong.band { color: #fff; padding: .05rem .4rem; border-radius: 4px; }
        .band-low { background: \(ReportData.RiskLevel.low.color); } .band-medium { background: \(ReportData.RiskLevel.medium.color); }
        .band-high { background: \(ReportData.RiskLevel.high.color); }
        p.note { color: #57606a; font-size: .85rem; }
        @page { size: A4; margin: 14mm 12mm 16mm; }
        </style>
        </head>
        <body>
        <h1>Gradient-leakage risk over time: \(h(site))</h1>
        <p>\(entries.count) finished audit\(entries.count == 1 ? "" : "s"), oldest first. Each figure is at the setting the site declared it runs: the
        risk band, the best SSIM any attack reached, the share of reconstructions that single out their patient (re-identification,
        rank 1 among the site's images) and the share of labels recovered. A dashed line marks each new model version.</p>
        \(chart)
        <table>
        <thead><tr><th>Audit</th><th>Started</th><th>Model</th><th>Declared setting</th><th>Risk</th><th>Best SSIM</th><th>Re-identified</th><th>Labels</th></tr></thead>
        <tbody>
        \(rows)</tbody>
        </table>
        <p class="note">Re-identification "—": not measured (audits before medpfl measured it) or no attack rebuilt images. Written by medpfl on \(h(ReportNumbers.longDate(generated))).</p>
        </body>
        </html>

        """
    }
}
