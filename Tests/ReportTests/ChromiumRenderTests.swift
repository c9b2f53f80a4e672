import Foundation
import Imaging
import XCTest
@testable import Report

/// The HTML report as a person sees it, rendered by headless Chromium: the page is not blank, the risk
/// badge shows in its colour, every table, chart and image rendered, nothing is wider than an A4 page,
/// and printing to PDF works.
///
/// Needs Debian's `chromium` (or `chromium-browser`) on PATH. The test fails, not skips, without it:
/// CI installs it (`apt-get install -y chromium`).
final class ChromiumRenderTests: XCTestCase {
    static func browser() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser"] {
            for dir in path.split(separator: ":") {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// Runs the browser headless; returns stdout. Fails the test on a non-zero exit or after 120 s.
    func run(_ browser: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                       "--user-data-dir=\(scratch!)/profile"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); XCTFail("chromium timed out", file: file, line: line) }
        XCTAssertEqual(p.terminationStatus, 0, "chromium \(args.last ?? "") failed", file: file, line: line)
        return String(decoding: data, as: UTF8.self)
    }

    var scratch: String?

    override func setUp() { scratch = ReportFixture.temporaryDirectory() }
    override func tearDown() { if let s = scratch { try? FileManager.default.removeItem(atPath: s) } }

    func testHTMLReportRendersPrintsAndFitsA4() throws {
        guard let browser = Self.browser() else {
            return XCTFail("chromium not found on PATH (looked for chromium and chromium-browser): install Debian's chromium, e.g. `apt-get install -y chromium`")
        }
        let dir = scratch! + "/report"
        try ReportWriter.write(try ReportFixture.data(), to: dir, options: ReportOptions(output: .html))
        let url = "file://\(dir)/report.html"

        // 1. Screenshot: the page is not blank and shows the High risk badge in its colour.
        let shot = scratch! + "/shot.png"
        _ = try run(browser, ["--screenshot=\(shot)", "--window-size=1200,2400", url])
        let image = try RGBImage(path: shot)
        XCTAssertEqual(image.width, 1200)
        let rgb = image.rgb8()
        var inked = 0, badge = 0
        var colours = Set<Int>()
        for i in stride(from: 0, to: rgb.count, by: 3) {
            let (r, g, b) = (Int(rgb[i]), Int(rgb[i + 1]), Int(rgb[i + 2]))
            if min(r, g, b) < 235 { inked += 1 }
            if abs(r - 0xcf) < 12 && abs(g - 0x22) < 12 && abs(b - 0x2e) < 12 { badge += 1 }
            colours.insert(r << 16 | g << 8 | b)
        }
        let pixels = image.width * image.height
        XCTAssertGreaterThan(Double(inked) / Double(pixels), 0.03, "the page looks blank (\(inked) of \(pixels) pixels inked)")
        XCTAssertGreaterThan(badge, 4000, "the red High-risk badge is missing (\(badge) pixels of #cf222e)")
        XCTAssertGreaterThan(colours.count, 500, "text only: no images or colour rendered")

        // 2. The DOM after loading, at the width of an A4 page's text (about 700 CSS px): tables, charts
        //    and decoded images are there, and nothing is wider than the page.
        let probe = dir + "/probe.html"
        let script = """
        <script>addEventListener("load", () => { const imgs = [...document.images];
        document.body.setAttribute("data-probe", [document.querySelectorAll("table").length,
          document.querySelectorAll("svg.chart").length, imgs.length,
          imgs.filter(i => i.complete && i.naturalWidth > 0).length,
          Math.min(...imgs.map(i => i.naturalWidth)),
          document.documentElement.scrollWidth - document.documentElement.clientWidth].join(" ")); });</script>
        """
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        try html.replacingOccurrences(of: "</body>", with: script + "</body>").write(toFile: probe, atomically: true, encoding: .utf8)
        let dom = try run(browser, ["--dump-dom", "--virtual-time-budget=5000", "--window-size=700,1000", "file://\(probe)"])
        guard let r = dom.range(of: "data-probe=\""), let e = dom[r.upperBound...].firstIndex(of: "\"") else {
            return XCTFail("the probe script did not run: \(dom.prefix(300))")
        }
        let v = dom[r.upperBound..<e].split(separator: " ").compactMap { Int($0) }
        XCTAssertEqual(v.count, 6)
        guard v.count == 6 else { return }
        XCTAssertGreaterThanOrEqual(v[0], 9, "tables: summary, settings, 5 results, 2 grids, comparison, details, bands")
        XCTAssertEqual(v[1], 3, "inline SVG charts")
        XCTAssertEqual(v[2], 12, "image strips")
        XCTAssertEqual(v[3], 12, "every image decoded")
        XCTAssertGreaterThanOrEqual(v[4], 4 * 128, "strips keep their enlarged size")
        XCTAssertLessThanOrEqual(v[5], 0, "the page is \(v[5]) px wider than an A4 text column")

        // 3. Printing to PDF works and gives several A4 pages.
        let pdf = scratch! + "/report.pdf"
        _ = try run(browser, ["--no-pdf-header-footer", "--print-to-pdf=\(pdf)", url])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pdf))
        XCTAssertEqual(String(decoding: bytes.prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertGreaterThan(bytes.count, 100_000, "the PDF holds the images")
        let text = String(decoding: bytes, as: UTF8.self)
        let a4Pages = text.components(separatedBy: "/MediaBox [0 0 594.9").count - 1
        XCTAssertGreaterThanOrEqual(a4Pages, 4, "several A4 pages (595 x 842 pt)")
    }

    /// A tool from poppler-utils (CI installs it); fails the test without it.
    func poppler(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(tool) failed")
        return String(decoding: data, as: UTF8.self)
    }

    /// `--format pdf`: report.html printed to an owner-only A4 PDF whose text holds the verdict, and whose every page is
    /// headed with the site, audit and date and numbered "Page k of n" (the template's @page margin boxes).
    func testPDFFormatPrintsTheReportWithHeaderAndPageNumbers() throws {
        guard Self.browser() != nil else { return XCTFail("chromium not found on PATH: apt-get install -y chromium") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext") else {
            return XCTFail("pdftotext not found: apt-get install -y poppler-utils")
        }
        let dir = scratch! + "/pdf"
        let data = try ReportFixture.data()
        let written = try ReportWriter.write(data, to: dir, options: ReportOptions(output: .pdf))
        XCTAssertEqual(written.pdf, "report.pdf")
        XCTAssertEqual(written.html, "report.html")
        XCTAssertNil(written.markdown)
        let pdf = dir + "/report.pdf"
        var st = stat()
        XCTAssertEqual(stat(pdf, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the PDF shows patients: owner-only")
        let info = try poppler("pdfinfo", [pdf])
        let pages = try XCTUnwrap(info.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap { Int($0.split(separator: " ").last!) })
        XCTAssertGreaterThanOrEqual(pages, 4, info)
        XCTAssertTrue(info.contains("(A4)"), "A4: \(info)")
        let text = try poppler("pdftotext", ["-layout", pdf, "-"])
        XCTAssertTrue(text.contains("Overall gradient-leakage risk at the declared setting"), "the verdict banner is in the PDF")
        XCTAssertTrue(text.contains(data.metadata.site), "the running header names the site")
        XCTAssertTrue(text.contains("audit \(data.metadata.auditID)"), "the running header names the audit")
        XCTAssertTrue(text.contains("Page 1 of \(pages)") && text.contains("Page \(pages) of \(pages)"), "every page numbered")
        XCTAssertGreaterThanOrEqual(text.components(separatedBy: "\(data.metadata.site) · audit \(data.metadata.auditID) · ").count - 1, pages,
                                    "the header (site · audit · date) on every page")
        // Writing another format afterwards removes the PDF (the report owns its files).
        try ReportWriter.write(data, to: dir, options: ReportOptions(output: .md))
        XCTAssertFalse(FileManager.default.fileExists(atPath: pdf))
    }
}
