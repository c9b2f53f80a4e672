import Foundation

/// Prints a self-contained HTML report to an A4 PDF with headless Chromium (Debian's `chromium`), as a compliance file
/// needs it. The page header (site, audit, date) and the page numbers come from the template's CSS `@page` margin boxes,
/// so Chromium's own header and footer (URL, title) are turned off.
///
/// Chromium is found as `MEDPFL_CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome` on `PATH`. It runs with a
/// private, throw-away profile (0700) beside the output and without the sandbox (which needs user namespaces that a
/// container or a root cron job usually lacks: the page is medpfl's own report, loaded from a local file, with no
/// network access needed). Fails, with one line, when no browser is found, when it exits non-zero, times out, or writes
/// something that is not a PDF.
public enum PDFPrinter {
    public static let browserNames = ["chromium", "chromium-browser", "google-chrome"]
    /// Seconds a print may take (a report with many images prints in a few seconds).
    public static let timeout: TimeInterval = 300

    /// The browser to print with, or nil.
    public static func browser(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let fm = FileManager.default
        if let explicit = environment["MEDPFL_CHROMIUM"], !explicit.isEmpty {
            return fm.isExecutableFile(atPath: explicit) ? explicit : nil
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for name in browserNames {
            for dir in path.split(separator: ":") where fm.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    /// Prints `html` (a file) to `pdf`, written 0600. `scratch` is a private folder for the browser's profile.
    public static func print(html: String, to pdf: String, scratch: String) throws {
        guard let browser = browser() else {
            throw ReportError.writeFailed("a PDF needs headless Chromium, and none was found (MEDPFL_CHROMIUM, or chromium on PATH: apt-get install -y chromium)")
        }
        let profile = (scratch as NSString).appendingPathComponent("chromium-profile")
        try ReportFiles.makePrivateDirectory(profile)
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let htmlURL = URL(fileURLWithPath: html).standardizedFileURL
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                       "--disable-extensions", "--hide-scrollbars", "--user-data-dir=\(profile)",
                       "--no-pdf-header-footer", "--print-to-pdf=\(pdf)", htmlURL.absoluteString]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            throw ReportError.writeFailed("cannot start \(browser) to print the PDF: \(error.localizedDescription)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            p.terminate()
            throw ReportError.writeFailed("\(browser) did not print the PDF within \(Int(timeout)) s")
        }
        guard p.terminationStatus == 0 else {
            throw ReportError.writeFailed("\(browser) failed to print the PDF (exit status \(p.terminationStatus))")
        }
        guard let head = FileHandle(forReadingAtPath: pdf).map({ h -> Data in defer { try? h.close() }; return h.readData(ofLength: 5) }),
              head == Data("%PDF-".utf8) else {
            throw ReportError.writeFailed("\(browser) wrote no PDF")
        }
        guard chmod(pdf, 0o600) == 0 else { throw ReportError.writeFailed("cannot make \(pdf) owner-only") }
    }
}
