import Foundation
import Mustache

/// Turns `ReportData` into the report's text: the Markdown (from the Markdown template) and the HTML
/// page (libcmark's rendering of that Markdown, placed in the HTML template).
///
/// In the HTML page the charts the Markdown links as `charts/*.svg` are inlined as `<svg>` elements and
/// the images it links as `images/*.png` become `data:` URIs, so the page is one self-contained file
/// that works offline. Bold risk-band words (`**High**`) get the band's colour.
public struct ReportRenderer: Sendable {
    public let templates: ReportTemplates

    public init(templates: ReportTemplates) {
        self.templates = templates
    }

    /// The Markdown report. `images` are the written grids (nil or ignored when `redacted`).
    public func markdown(_ data: ReportData, images: ReportImages?, charts: [ReportChart], redacted: Bool) -> String {
        let view = ReportView(data, images: images, charts: charts, redacted: redacted)
        let text = templates.markdown.render(view)
        // Mustache leaves the blank lines of skipped sections; keep at most one in a row.
        return Self.collapseBlankLines(text)
    }

    /// The HTML page for `markdown`; `pngs` maps image paths (relative to the report) to PNG bytes.
    public func html(markdown: String, data: ReportData, charts: [ReportChart], pngs: [String: Data]) -> String {
        var body = MarkdownHTML.render(markdown)
        body = Self.inlineCharts(body, charts)
        body = Self.inlineImages(body, pngs)
        body = Self.colourBands(body)
        var heading = ""
        if body.hasPrefix("<h1>"), let end = body.range(of: "</h1>\n") {
            heading = String(body[..<end.upperBound])
            body = String(body[end.upperBound...])
        }
        let declared = data.setting(data.metadata.declaredSetting)!
        let page = HTMLPage(heading: heading, body: body, site: data.metadata.site, auditID: data.metadata.auditID,
                            date: ReportNumbers.longDate(data.metadata.startedAt), toolVersion: data.metadata.toolVersion,
                            bandClass: declared.band?.rawValue ?? "none", bandTitle: ReportData.RiskLevel.title(declared.band),
                            bandUpper: (declared.band.map { $0.title + " risk" } ?? "Not assessed").uppercased(),
                            declaredLabel: declared.label,
                            printHeader: Escaping.cssString("\(data.metadata.site) · audit \(data.metadata.auditID) · \(ReportNumbers.longDate(data.metadata.startedAt))"))
        return templates.html.render(page)
    }

    /// What the HTML template sees (`{{name}}` is HTML-escaped; `heading` and `body` are HTML).
    struct HTMLPage {
        let heading: String, body: String
        let site: String, auditID: String, date: String, toolVersion: String
        let bandClass: String, bandTitle: String, bandUpper: String, declaredLabel: String
        /// The running header of every printed page (site, audit, date) as a CSS string literal (`{{{printHeader}}}`).
        let printHeader: String
    }

    /// Replaces `<img src="charts/x.svg" alt="..." />` (as libcmark writes a Markdown image) by the
    /// chart's SVG.
    static func inlineCharts(_ html: String, _ charts: [ReportChart]) -> String {
        var out = html
        for c in charts {
            let prefix = "<img src=\"\(Escaping.html(c.path))\" alt=\""
            while let start = out.range(of: prefix), let end = out[start.upperBound...].range(of: "\" />") {
                out.replaceSubrange(start.lowerBound..<end.upperBound, with: c.svg)
            }
        }
        return out
    }

    /// Replaces `src="images/..png"` of the report's own images by `data:` URIs.
    static func inlineImages(_ html: String, _ pngs: [String: Data]) -> String {
        var out = html
        for (path, png) in pngs.sorted(by: { $0.key < $1.key }) {
            out = out.replacingOccurrences(of: "src=\"\(Escaping.html(path))\"",
                                           with: "src=\"data:image/png;base64,\(png.base64EncodedString())\"")
        }
        return out
    }

    /// `<strong>High</strong>` -> `<strong class="band band-high">High</strong>` for every band name.
    static func colourBands(_ html: String) -> String {
        var out = html
        for level in ReportData.RiskLevel.allCases {
            out = out.replacingOccurrences(of: "<strong>\(level.title)</strong>",
                                           with: "<strong class=\"band band-\(level.rawValue)\">\(level.title)</strong>")
        }
        return out
    }

    /// Keeps at most one blank line in a row (outside fenced code blocks) and ends with one newline.
    static func collapseBlankLines(_ text: String) -> String {
        var out: [String] = []
        var blank = false
        var fence: (Character, Int)? = nil
        for piece in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(piece)
            if let f = fence {
                out.append(line)
                if MarkdownHTML.closesFence(line, f) { fence = nil }
                continue
            }
            fence = MarkdownHTML.opensFence(line)
            let isBlank = MarkdownHTML.isBlank(line)
            if isBlank && (blank || out.isEmpty) { continue }
            out.append(isBlank ? "" : line)
            blank = isBlank
        }
        while let last = out.last, last.isEmpty { out.removeLast() }
        return out.joined(separator: "\n") + "\n"
    }
}
