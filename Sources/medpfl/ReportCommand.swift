import ArgumentParser
import Audit
import Foundation
import Report

extension ReportOptions.Output: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the risk report of an audit as Markdown, a self-contained HTML page or a PDF; or a site's risk over time (--history).",
        discussion: """
        The report opens with the verdict in plain words (the site's overall risk at its declared defence, \
        label leakage, the recommended setting and its accuracy cost, a paragraph for filings), then the \
        results per defence setting, image grids, risk curves, the comparison with the site's previous \
        audit, the audit details, the method and the limitations. report.md links images/ and charts/ \
        beside it; report.html holds everything inline and prints to A4. The folder is created 0700 and \
        every file 0600 (the images show patients); --redact leaves every image out. The report owns \
        report.md, report.html, images/ and charts/ in --out and replaces them. Templates: --templates DIR \
        (report.md.mustache and report.html.mustache), else templates/ of the source tree or \
        <prefix>/share/medpfl/templates beside the binary, else the copy built into medpfl. \
        --format pdf writes report.html and prints it to an A4 report.pdf with headless Chromium (Debian's \
        chromium, or MEDPFL_CHROMIUM), each page headed with the site, audit and date and numbered. \
        --history writes history.html for one site (--site, needed when the log holds several): the risk band, \
        best SSIM, re-identification rate and label leakage at the declared setting, audit by audit, as a chart \
        (model versions marked) and a table, each audit linked to its report, written beside it in audit-ID/.
        """)

    @Argument(help: "Audit id (see `medpfl history`); none with --history.") var id: Int64?
    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Option(help: "md, html, both (md and html) or pdf (html printed to PDF).") var format: ReportOptions.Output = .both
    @Option(help: "Output folder (default: medpfl-report-ID, or medpfl-history with --history, in the working directory).") var out: String?
    @Flag(help: "One HTML page of a site's risk over its audits, each audit's report beside it.") var history = false
    @Option(help: "With --history: the site (see `medpfl history`); needed when the log holds audits of several sites.") var site: String?
    @Flag(help: "Leave every patient image (originals and reconstructions) out: metrics only.") var redact = false
    @Option(help: "Size of each image cell in pixels (default \(ReportImages.defaultCellSize): 32x32 crops enlarged 4x); smaller values shrink the images.")
    var thumbnail: Int?
    @Option(help: "A folder with the site's own report.md.mustache and report.html.mustache.") var templates: String?

    func validate() throws {
        if history {
            if id != nil { throw ValidationError("--history covers every audit of a site: give no audit id") }
            if format != .both { throw ValidationError("--history writes HTML pages: --format does not apply") }
        } else {
            if id == nil { throw ValidationError("give an audit id (see `medpfl history`), or --history") }
            if site != nil { throw ValidationError("--site applies to --history only") }
        }
        if let t = thumbnail, !(1...ReportImages.maximumCellSize).contains(t) {
            throw ValidationError("--thumbnail must be between 1 and \(ReportImages.maximumCellSize) pixels, got \(t)")
        }
    }

    func run() throws {
        let templateSet = try reportInput { try templates.map { try ReportTemplates(directory: $0) } ?? ReportTemplates.builtIn() }
        let store = try auditInput { try AuditStore(readingAt: db) }
        if history { return try writeHistory(store, templates: templateSet) }
        guard let id else { return }
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
        if let pdf = written.pdf {
            print("Wrote \((folder as NSString).appendingPathComponent(pdf)) (A4, printed with headless Chromium)")
        }
    }

    /// `--history`: the site's page and, beside it, the HTML report of each of its finished audits.
    func writeHistory(_ store: AuditStore, templates: ReportTemplates) throws {
        let sites = try auditInput { Array(Set(try store.audits().map(\.site))).sorted() }
        let chosen: String
        if let site {
            guard sites.contains(site) else { throw InputError("no audit of site '\(TerminalText.oneLine(site))' in \(db) (see `medpfl history`)") }
            chosen = site
        } else if sites.count == 1 {
            chosen = sites[0]
        } else if sites.isEmpty {
            throw InputError("no audits in \(db)")
        } else {
            throw InputError("\(db) holds audits of \(sites.count) sites: choose one with --site (see `medpfl history`)")
        }
        let page = try auditInput { try SiteHistory(store: store, site: chosen) }
        let folder = out ?? "medpfl-history"
        let options = ReportOptions(output: .html, redact: redact, cellSize: thumbnail ?? ReportImages.defaultCellSize, templates: templates)
        try reportInput {
            try ReportFiles.makePrivateDirectory(folder)
            for e in page.entries {
                let data = try auditInput { try ReportData(store: store, auditID: e.auditID) }
                try ReportWriter.write(data, to: (folder as NSString).appendingPathComponent(SiteHistory.reportFolder(e.auditID)), options: options)
            }
            try ReportFiles.writePrivate(page.html(), to: (folder as NSString).appendingPathComponent("history.html"))
        }
        print("Wrote \((folder as NSString).appendingPathComponent("history.html")): \(page.entries.count) finished audit\(page.entries.count == 1 ? "" : "s") "
              + "of \(TerminalText.oneLine(chosen)), each report in \(folder)/audit-ID/report.html")
    }
}

/// Runs `body`, reporting report errors (bad template, inconsistent data, unwritable folder) as bad input.
func reportInput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ReportError { throw InputError(e.description) }
}
