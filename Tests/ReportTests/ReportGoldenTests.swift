import Foundation
import XCTest
@testable import Report

/// The Markdown of a fixed `ReportData` against the committed `Fixtures/golden-report.md`, and the
/// template sources. Set MEDPFL_UPDATE_GOLDEN=1 to rewrite the fixture after an intended change (and
/// review the diff). Set MEDPFL_REPORT_KEEP=DIR to keep the rendered report in DIR for a look.
final class ReportGoldenTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden-report.md")

    func testMarkdownMatchesGolden() throws {
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try ReportWriter.write(try ReportFixture.data(), to: dir,
                                         options: ReportOptions(templates: ReportTemplates.embedded()))
        let md = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        if let keep = ProcessInfo.processInfo.environment["MEDPFL_REPORT_KEEP"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: dir, toPath: keep)
        }
        if ProcessInfo.processInfo.environment["MEDPFL_UPDATE_GOLDEN"] == "1" {
            try md.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        XCTAssertEqual(md, expected, "report.md differs from Fixtures/golden-report.md (MEDPFL_UPDATE_GOLDEN=1 rewrites it)")
        // Every file the Markdown links exists.
        XCTAssertEqual(out.markdown, "report.md")
        XCTAssertEqual(out.charts.count, 3)
        XCTAssertEqual(out.images.count, 1 + 2 * 5, "originals + one strip per attack x setting")
        for path in out.images + out.charts {
            XCTAssertTrue(md.contains("(\(path))"), "\(path) is not linked from the Markdown")
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + path), "\(path) missing")
        }
    }

    func testSameDataGivesTheSameReport() throws {
        let a = ReportFixture.temporaryDirectory(), b = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let data = try ReportFixture.data()
        try ReportWriter.write(data, to: a)
        try ReportWriter.write(data, to: b)
        for f in ["report.md", "report.html", "charts/ssim-vs-noise.svg", "images/originals.png"] {
            XCTAssertEqual(FileManager.default.contents(atPath: a + "/" + f), FileManager.default.contents(atPath: b + "/" + f), f)
        }
    }

    func testEmbeddedTemplatesEqualTemplatesFolder() throws {
        let dir = ReportFixture.packageRoot.appendingPathComponent("templates")
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent(ReportTemplates.markdownName), encoding: .utf8),
                       BuiltinTemplates.markdown, "run scripts/embed-templates.sh")
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent(ReportTemplates.htmlName), encoding: .utf8),
                       BuiltinTemplates.html, "run scripts/embed-templates.sh")
        XCTAssertEqual(ReportTemplates.installedDirectory(executable: Bundle.main.executableURL).map { URL(fileURLWithPath: $0).standardizedFileURL.path },
                       dir.standardizedFileURL.path, "the test binary lies inside the package, so templates/ is found")
    }

    func testSiteTemplatesAreUsedAndCheckedBeforeWriting() throws {
        let tdir = ReportFixture.temporaryDirectory(), out = ReportFixture.temporaryDirectory() + "/report"
        defer { try? FileManager.default.removeItem(atPath: tdir) }
        try "{{% CONTENT_TYPE: MARKDOWN }}\n# Local audit of {{site}}\n\n{{{verdict}}}\n"
            .write(toFile: tdir + "/report.md.mustache", atomically: true, encoding: .utf8)
        try "<html><body class=\"local\">{{{heading}}}{{{body}}}</body></html>\n".write(toFile: tdir + "/report.html.mustache", atomically: true, encoding: .utf8)
        try ReportWriter.write(try ReportFixture.data(site: "A & B"), to: out,
                               options: ReportOptions(templates: try ReportTemplates(directory: tdir)))
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("# Local audit of A \\& B\n"), md)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<html><body class=\"local\"><h1>Local audit of A &amp; B</h1>\n<p>With the strongest attack"), html)

        try "{{#unclosed}}".write(toFile: tdir + "/report.md.mustache", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportTemplates(directory: tdir)) { e in
            guard case ReportError.badTemplate(let s) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(s.contains("report.md.mustache"), s)
        }
        XCTAssertThrowsError(try ReportTemplates(directory: tdir + "/nope"))
    }

    func testInconsistentDataWritesNothing() throws {
        var data = try ReportFixture.data()
        data.metadata.declaredSetting = "laplace:level=7"
        let out = ReportFixture.temporaryDirectory() + "/new"
        XCTAssertThrowsError(try ReportWriter.write(data, to: out)) { e in
            XCTAssertEqual("\(e)", "report data: declared setting 'laplace:level=7' is not among the tested settings")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        data = try ReportFixture.data()
        data.samples[1].png = Data("not a png".utf8)
        XCTAssertThrowsError(try ReportWriter.write(data, to: out)) { e in
            guard case ReportError.badImage = e else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a failed report leaves no folder behind")
    }
}
