import Foundation
import SafeIO

/// How a report is written.
public struct ReportOptions: Sendable {
    /// Which files to write.
    public enum Output: String, Sendable, CaseIterable {
        /// `pdf` writes `report.html` and prints it to `report.pdf` with headless Chromium (`PDFPrinter`).
        case md, html, both, pdf
        var markdown: Bool { self == .md || self == .both }
        var html: Bool { self != .md }
        var pdf: Bool { self == .pdf }
    }

    public var output: Output
    /// Leave every patient image (original or reconstruction) out: metrics only.
    public var redact: Bool
    /// Size of an image cell in pixels (`--thumbnail`): 32x32 crops are enlarged to it (nearest
    /// neighbour, integer factor) or shrunk when it is smaller than the images.
    public var cellSize: Int
    /// Samples shown per grid.
    public var maxColumns: Int
    /// The templates; nil uses `ReportTemplates.builtIn()`.
    public var templates: ReportTemplates?

    public init(output: Output = .both, redact: Bool = false, cellSize: Int = ReportImages.defaultCellSize,
                maxColumns: Int = ReportImages.defaultMaxColumns, templates: ReportTemplates? = nil) {
        self.output = output
        self.redact = redact
        self.cellSize = cellSize
        self.maxColumns = maxColumns
        self.templates = templates
    }
}

/// What `ReportWriter.write` produced, as paths inside the report folder.
public struct ReportOutput: Sendable, Equatable {
    public var markdown: String?
    public var html: String?
    /// PNG files written (empty when redacted or for an HTML-only report, whose images are inline).
    public var images: [String]
    /// SVG files written (Markdown reports only).
    public var charts: [String]
    /// The printed report (`--format pdf`).
    public var pdf: String? = nil
}

/// Writes a report folder: `report.md` with `images/` and `charts/` beside it, and/or a self-contained
/// `report.html`.
///
/// Everything is rendered into a private staging folder first and moved into place only when all of it
/// succeeded, so bad data or a broken template leaves nothing half-written. The report owns
/// `report.md`, `report.html`, `report.pdf`, `images/` and `charts/` in the folder: each run replaces them, and
/// removes those it does not write (so a redacted report never leaves older patient images behind).
/// Folders are created 0700, files 0600.
public enum ReportWriter {
    static let managed = ["report.md", "report.html", "report.pdf", "images", "charts"]

    @discardableResult
    public static func write(_ data: ReportData, to directory: String, options: ReportOptions = ReportOptions()) throws -> ReportOutput {
        try data.validate()
        guard (1...ReportImages.maximumCellSize).contains(options.cellSize) else {
            throw ReportError.inconsistentData("thumbnail size must be between 1 and \(ReportImages.maximumCellSize) pixels, got \(options.cellSize)")
        }
        guard options.maxColumns >= 1 else { throw ReportError.inconsistentData("at least one image column is needed") }
        let renderer = ReportRenderer(templates: try options.templates ?? ReportTemplates.builtIn())

        let existed = FileManager.default.fileExists(atPath: directory)
        try ReportFiles.makePrivateDirectory(directory)
        var committed = false
        defer { if !committed && !existed { try? FileManager.default.removeItem(atPath: directory) } }
        // Staging lives inside the report folder (same file system: the commit is a rename). It is removed
        // when done, on SIGINT/SIGTERM (Temporaries), and, if a SIGKILL left it, by the next report written here.
        Temporaries.sweep(directory)
        let staging = (directory as NSString).appendingPathComponent(Temporaries.name("report"))
        Temporaries.register(staging)
        try ReportFiles.makePrivateDirectory(staging)
        defer { try? FileManager.default.removeItem(atPath: staging); Temporaries.unregister(staging) }
        func staged(_ p: String) -> String { (staging as NSString).appendingPathComponent(p) }

        let images = options.redact ? nil
            : try ReportImages(data, cellSize: options.cellSize, maxColumns: options.maxColumns, writingTo: staging)
        let charts = ReportCharts.make(data)
        let markdown = renderer.markdown(data, images: images, charts: charts, redacted: options.redact)
        var written: [String] = []
        let imagePaths = images.map { [$0.originals.path] + $0.grids.flatMap { $0.strips.map(\.path) } }
        let uniqueImages = Array(Set((imagePaths ?? []).filter { !$0.isEmpty })).sorted()

        if options.output.html {
            var pngs: [String: Data] = [:]
            for p in uniqueImages {
                do { pngs[p] = try BoundedFile.read(staged(p), limit: BoundedFile.Limit.image, what: "image") } catch {
                    throw ReportError.writeFailed("cannot read back \(p): \(error)")
                }
            }
            let html = renderer.html(markdown: markdown, data: data, charts: charts, pngs: pngs)
            try ReportFiles.writePrivate(html, to: staged("report.html"))
            written.append("report.html")
            if options.output.pdf {
                try PDFPrinter.print(html: staged("report.html"), to: staged("report.pdf"), scratch: staging)
                written.append("report.pdf")
            }
        }
        if options.output.markdown {
            try ReportFiles.writePrivate(markdown, to: staged("report.md"))
            if !charts.isEmpty { try ReportFiles.makePrivateDirectory(staged("charts")) }
            for c in charts { try ReportFiles.writePrivate(c.svg + "\n", to: staged(c.path)) }
            written.append("report.md")
            if !uniqueImages.isEmpty { written.append("images") }
            if !charts.isEmpty { written.append("charts") }
        }

        // Commit: replace the managed entries, remove the ones not written this time.
        for name in managed {
            let target = (directory as NSString).appendingPathComponent(name)
            if written.contains(name) {
                try ReportFiles.replace(target, with: staged(name))
            } else if FileManager.default.fileExists(atPath: target) {
                do { try FileManager.default.removeItem(atPath: target) } catch {
                    throw ReportError.writeFailed("cannot remove the old \(target): \(error.localizedDescription)")
                }
            }
        }
        committed = true
        return ReportOutput(markdown: written.contains("report.md") ? "report.md" : nil,
                            html: written.contains("report.html") ? "report.html" : nil,
                            images: options.output.markdown ? uniqueImages : [],
                            charts: options.output.markdown ? charts.map(\.path) : [],
                            pdf: written.contains("report.pdf") ? "report.pdf" : nil)
    }
}
