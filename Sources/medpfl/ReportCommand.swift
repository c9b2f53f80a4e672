import ArgumentParser
import Audit
import Foundation
import Report

extension ReportOptions.Output: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the risk report of an audit as Markdown and/or a self-contained HTML page.",
        discussion: """
        The report opens with the verdict in plain words (the site's overall risk at its declared defence, \
        label leakage, the recommended setting and its accuracy cost, a paragraph for filings), then the \
        results per defence setting, image grids, risk curves, the comparison with the site's previous \
        audit, the audit details, the method and the limitations. report.md links images/ and charts/ \
        beside it; report.html holds everything inline and prints to A4. The folder is created 0700 and \
        every file 0600 (the images show patients); --redact leaves every image out. The report owns \
        report.md, report.html, images/ and charts/ in --out and replaces them. Templates: --templates DIR \
        (report.md.mustache and report.html.mustache), else templates/ of the source tree or \
        <prefix>/share/medpfl/templates beside the binary, else the copy built into medpfl.
        """)

    @Argument(help: "Audit id (see `medpfl history`).") var id: Int64
    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Option(help: "md, html or both.") var format: ReportOptions.Output = .both
    @Option(help: "Output folder (default: medpfl-report-ID in the working directory).") var out: String?
    @Flag(help: "Leave every patient image (originals and reconstructions) out: metrics only.") var redact = false
    @Option(help: "Size of each image cell in pixels (default \(ReportImages.defaultCellSize): 32x32 crops enlarged 4x); smaller values shrink the images.")
    var thumbnail: Int?
    @Option(help: "A folder with the site's own report.md.mustache and report.html.mustache.") var templates: String?

    func validate() throws {
        if let t = thumbnail, !(1...ReportImages.maximumCellSize).contains(t) {
            throw ValidationError("--thumbnail must be between 1 and \(ReportImages.maximumCellSize) pixels, got \(t)")
        }
    }

    func run() throws {
        let templateSet = try reportInput { try templates.map { try ReportTemplates(directory: $0) } ?? ReportTemplates.builtIn() }
        let store = try auditInput { try AuditStore(readingAt: db) }
        let data = try auditInput { try ReportData(store: store, auditID: id) }
        let folder = out ?? "medpfl-report-\(id)"
        let options = ReportOptions(output: format, redact: redact, cellSize: thumbnail ?? ReportImages.defaultCellSize,
                                    templates: templateSet)
        let written = try reportInput { try ReportWriter.write(data, to: folder, options: options) }
        if let md = written.markdown {
            print("Wrote \((folder as NSString).appendingPathComponent(md)) with \(written.images.count) image file\(written.images.count == 1 ? "" : "s") and \(written.charts.count) chart\(written.charts.count == 1 ? "" : "s")\(redact ? " (redacted: no patient images)" : "")")
        }
        if let html = written.html {
            print("Wrote \((folder as NSString).appendingPathComponent(html)) (self-contained\(redact ? ", redacted" : ""))")
        }
    }
}

/// Runs `body`, reporting report errors (bad template, inconsistent data, unwritable folder) as bad input.
func reportInput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ReportError { throw InputError(e.description) }
}
