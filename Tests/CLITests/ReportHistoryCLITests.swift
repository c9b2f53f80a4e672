import Foundation
import XCTest

/// `medpfl report --history` (one site's risk over its audits, model versions marked, each audit linked to its report)
/// and `report --format pdf` from the command line (issue "Verdicts", item 6).
extension CLITests {
    func testReportHistoryShowsTwoAuditsOfASiteAndThePDFPrints() throws {
        let db = tmp.appendingPathComponent("h.sqlite").path
        let first = try tinyAudit(site: "History Clinic")
        let second = tmp.appendingPathComponent("second.yaml").path
        try String(contentsOfFile: first, encoding: .utf8).replacingOccurrences(of: "version: v1", with: "version: v2")
            .write(toFile: second, atomically: true, encoding: .utf8)
        for f in [first, second, try tinyAudit(site: "Other Site")] {
            let r = try run(["audit", f, "--db", db, "--no-report", "--quiet"])
            XCTAssertEqual(r.code, 0, r.err)
        }
        try assertRefused(["report", "--history", "--db", db, "--out", tmp.appendingPathComponent("x").path], "holds audits of 2 sites: choose one with --site")
        try assertRefused(["report", "--history", "--site", "Nowhere", "--db", db], "no audit of site 'Nowhere'")
        try assertRefused(["report", "1", "--history", "--db", db], "give no audit id")
        try assertRefused(["report", "--db", db], "give an audit id")

        let out = tmp.appendingPathComponent("history").path
        let r = try run(["report", "--history", "--site", "History Clinic", "--db", db, "--out", out])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("2 finished audits of History Clinic"), r.out)
        let html = try String(contentsOfFile: out + "/history.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("class=\"chart\""), "the chart is inline")
        XCTAssertTrue(html.contains("href=\"audit-1/report.html\"") && html.contains("href=\"audit-2/report.html\""), "each audit linked")
        XCTAssertFalse(html.contains("audit-3"), "another site's audit is not on the page")
        XCTAssertTrue(html.contains("model mlp v1") && html.contains("model mlp v2"), "each model version marked on the chart")
        XCTAssertTrue(html.contains("mlp v2 <em>(new version)</em>"), "and in the table")
        for id in [1, 2] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/audit-\(id)/report.html"), "the linked report is there")
        }
        var st = stat()
        XCTAssertEqual(stat(out + "/history.html", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        let pdfDir = tmp.appendingPathComponent("pdf").path
        let p = try run(["report", "1", "--db", db, "--format", "pdf", "--out", pdfDir])
        XCTAssertEqual(p.code, 0, p.err)
        XCTAssertTrue(p.out.contains("report.pdf (A4"), p.out)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pdfDir + "/report.pdf"))
        XCTAssertEqual(String(decoding: bytes.prefix(5), as: UTF8.self), "%PDF-")
        // A one-character relative folder (swift-corelibs-foundation traps on its parent path; medpfl must not).
        let short = try run(["report", "1", "--db", db, "--out", "r"], in: tmp)
        XCTAssertEqual(short.code, 0, short.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("r/report.html").path))
        // A browser that is not there: one line, exit 2, and no report half-written.
        let missing = try run(["report", "2", "--db", db, "--format", "pdf", "--out", tmp.appendingPathComponent("nopdf").path],
                              environment: ["MEDPFL_CHROMIUM": "/nonexistent/chromium"])
        XCTAssertEqual(missing.code, 2, missing.err)
        XCTAssertTrue(missing.err.contains("a PDF needs headless Chromium"), missing.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("nopdf").path))
    }
}

extension CLITests {
    /// `medpfl train --json` carries the final accuracy as a count with its Wilson interval and the paired drop against
    /// the run without defence, consistent with each other and with the runs' own accuracies.
    func testTrainJSONCarriesTheAccuracyIntervalAndThePairedDrop() throws {
        let r = try run(["train", "--model", "lenet", "--images", Self.data.path, "--defense", "laplace:level=100", "--rounds", "2", "--quiet", "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let acc = try XCTUnwrap(j["finalAccuracyInterval"] as? [String: Any])
        let defended = try XCTUnwrap(j["defended"] as? [String: Any])
        let baseline = try XCTUnwrap(j["baseline"] as? [String: Any])
        let n = try XCTUnwrap(acc["total"] as? Int)
        XCTAssertEqual(n, defended["testImages"] as? Int)
        XCTAssertEqual(Double(acc["count"] as! Int) / Double(n), defended["finalAccuracy"] as! Double, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(acc["lower"] as! Double, acc["estimate"] as! Double)
        XCTAssertGreaterThanOrEqual(acc["upper"] as! Double, acc["estimate"] as! Double)
        let p = try XCTUnwrap(j["pairedDrop"] as? [String: Any])
        XCTAssertEqual(p["pairs"] as? Int, n)
        XCTAssertEqual(p["drop"] as! Double, (baseline["finalAccuracy"] as! Double) - (defended["finalAccuracy"] as! Double), accuracy: 1e-12)
        XCTAssertEqual((p["bothRight"] as! Int) + (p["lost"] as! Int) + (p["gained"] as! Int) + (p["bothWrong"] as! Int), n)
        XCTAssertLessThanOrEqual(p["lower"] as! Double, p["drop"] as! Double)
        XCTAssertGreaterThanOrEqual(p["upper"] as! Double, p["drop"] as! Double)
    }
}
