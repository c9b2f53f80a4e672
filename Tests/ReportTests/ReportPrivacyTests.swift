import Foundation
import Imaging
import XCTest
@testable import Report

/// The report itself must not leak: hostile strings are escaped, `--redact` leaves every patient image
/// out, files are owner-only, `--thumbnail` shrinks the images.
final class ReportPrivacyTests: XCTestCase {
    static let attack = "<script>alert(1)</script>"

    func testScriptInUserStringsIsEscapedEverywhere() throws {
        var data = try ReportFixture.data(site: Self.attack)
        data.metadata.model = "<img src=x onerror=alert(2)>"
        data.metadata.command = "medpfl audit </code><script>alert(3)</script> ```"
        data.attacks[0].name = "[click](javascript:alert(4))"
        data.settings[1].label = "Laplace | <b>bold</b> *level*"
        data.limitations = ["<iframe src=\"http://evil\"></iframe>"]
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ReportWriter.write(data, to: dir)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        let md = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)

        for raw in ["<script", "<img src=x", "<iframe", "<b>bold", "onerror=alert(2)>"] {
            XCTAssertFalse(html.contains(raw), "raw \(raw) reached the HTML")
        }
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the site name is shown, escaped")
        XCTAssertTrue(html.contains("<title>Gradient-leakage risk report: &lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("&lt;img src=x onerror=alert(2)&gt;"))
        XCTAssertTrue(html.contains("[click](javascript:alert(4))"), "link syntax in a name is shown as text")
        XCTAssertFalse(html.contains("href=\"javascript"), "no link was made from a user string")
        XCTAssertTrue(html.contains("Laplace | &lt;b&gt;bold&lt;/b&gt; *level*"), "pipes and emphasis in a label stay text")
        XCTAssertTrue(html.contains("medpfl audit &lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt; ```"), "the command is shown verbatim")
        XCTAssertFalse(html.contains("raw HTML omitted"), "user strings are escaped before cmark, not dropped by it")
        // Markdown: the characters that start HTML, links and emphasis are backslash-escaped.
        XCTAssertTrue(md.contains("# Gradient-leakage risk report: \\<script\\>alert(1)\\</script\\>\n"))
        XCTAssertTrue(md.contains("\\[click\\](javascript:alert(4))"))
        XCTAssertTrue(md.contains("Laplace \\| \\<b\\>bold\\</b\\> \\*level\\*"))
        XCTAssertTrue(md.contains("````\nmedpfl audit </code><script>alert(3)</script> ```\n````"), "a longer fence holds the command")
        // The charts escape attack names too.
        let svg = try String(contentsOfFile: dir + "/charts/ssim-vs-noise.svg", encoding: .utf8)
        XCTAssertFalse(svg.contains("<script"))
    }

    func testRedactionLeavesEveryPatientImageOut() throws {
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try ReportFixture.data()
        // A first, unredacted report in the same folder: its images must not survive the redacted one.
        let first = try ReportWriter.write(data, to: dir)
        XCTAssertFalse(first.images.isEmpty)
        let out = try ReportWriter.write(data, to: dir, options: ReportOptions(redact: true))
        XCTAssertEqual(out.images, [])
        XCTAssertEqual(try pngFiles(in: dir), [], "no PNG anywhere in the report folder")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/images"))
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        let md = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        XCTAssertFalse(html.contains("<img"), "no image element at all (charts are inline SVG)")
        XCTAssertFalse(html.contains("data:image/png"))
        XCTAssertFalse(md.contains("images/"), "no image referenced")
        XCTAssertFalse(md.contains(".png"))
        XCTAssertTrue(md.contains("Patient images are left out of this report (redacted)"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3, "the three charts stay")
        XCTAssertTrue(md.contains("| iDLG (Zhao et al. 2020) | 75% (3 of 4) | 0.91 |"), "metrics stay")
    }

    func testFilesAreOwnerOnlyEvenUnderAPermissiveUmask() throws {
        let old = umask(0)
        defer { umask(old) }
        let root = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/new/report"
        try ReportWriter.write(try ReportFixture.data(), to: dir)
        let fm = FileManager.default
        var files = 0, folders = 0
        for folder in [root + "/new", dir] {
            XCTAssertEqual(try mode(folder), 0o700, folder)
        }
        for rel in try fm.subpathsOfDirectory(atPath: dir) {
            let path = dir + "/" + rel
            var isDir: ObjCBool = false
            XCTAssertTrue(fm.fileExists(atPath: path, isDirectory: &isDir))
            if isDir.boolValue { folders += 1; XCTAssertEqual(try mode(path), 0o700, rel) }
            else { files += 1; XCTAssertEqual(try mode(path), 0o600, rel) }
        }
        XCTAssertEqual(folders, 4, "images, images/1-idlg, images/2-gradinv, charts")
        XCTAssertEqual(files, 2 + 11 + 3, "report.md, report.html, 11 PNG strips, 3 SVG charts")
        XCTAssertFalse(try fm.contentsOfDirectory(atPath: dir).contains { $0.hasPrefix(".medpfl-report") }, "staging removed")
    }

    func testThumbnailShrinksAndDefaultEnlarges() throws {
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try ReportFixture.data()
        try ReportWriter.write(data, to: dir, options: ReportOptions(output: .md))
        let big = try RGBImage(path: dir + "/images/originals.png")
        XCTAssertEqual(big.height, 128 + 4, "32x32 crops enlarged 4x, 2 px gutters")
        XCTAssertEqual(big.width, 4 * 128 + 5 * 2)
        // Nearest-neighbour enlargement: each source pixel is a 4x4 block.
        let original = try RGBImage(pngData: [UInt8](data.samples[0].png))
        XCTAssertEqual(big[0, 2 + 4 * 5 + 3, 2 + 4 * 7 + 1], original[0, 5, 7], accuracy: 1.0 / 255)
        try ReportWriter.write(data, to: dir, options: ReportOptions(output: .md, cellSize: 16))
        let small = try RGBImage(path: dir + "/images/1-idlg/2-laplace-level-400.png")
        XCTAssertEqual(small.height, 16 + 4)
        XCTAssertEqual(small.width, 4 * 16 + 5 * 2)
        XCTAssertThrowsError(try ReportWriter.write(data, to: dir, options: ReportOptions(cellSize: 0)))
    }

    func testHTMLOnlyReportIsSelfContained() throws {
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try ReportWriter.write(try ReportFixture.data(), to: dir, options: ReportOptions(output: .html))
        XCTAssertEqual(out.html, "report.html")
        XCTAssertNil(out.markdown)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["report.html"])
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1, 12,
                       "originals twice (once per attack) and 10 reconstruction strips, all inline")
        XCTAssertFalse(html.contains("src=\"images/"))
        XCTAssertFalse(html.contains("charts/"))
    }

    func pngFiles(in dir: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: dir).filter { $0.lowercased().hasSuffix(".png") }
    }

    func mode(_ path: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        return (attrs[.posixPermissions] as! NSNumber).intValue & 0o777
    }
}
