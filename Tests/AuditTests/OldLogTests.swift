import XCTest
import Audit
import GRDB

/// A log written by the previous release reads back unchanged and is reported the same way; a new audit
/// stores its assessment once, and the store shows the stored one.
final class OldLogTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/log-0.1.0")

    func copyOfOldLog() throws -> String {
        let dir = NSTemporaryDirectory() + "medpfl-oldlog-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/old.sqlite"
        try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("old.sqlite").path, toPath: path)
        return path
    }

    /// A verdict line without the ", 95% CI a–b%" of its success rate (0.1.0 printed none).
    static func withoutIntervals(_ line: String) -> String {
        line.replacingOccurrences(of: #", 95% CI [0-9]+–[0-9]+%"#, with: "", options: .regularExpression)
    }

    func testTheOldLogReadsUnchangedAndAssessesTheSame() throws {
        let path = try copyOfOldLog()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let store = try AuditStore(readingAt: path)
        XCTAssertEqual(try store.appliedMigrations(), ["v1-audit-log", "v2-finished-audits-are-immutable"])
        XCTAssertEqual(try store.pendingMigrations(), ["v3-stored-assessments", "v4-audit-digests", "v5-verdict-evidence", "v6-utility-evidence"])
        let v = try store.verify(audit: 1)
        XCTAssertEqual(v.outcome, .noDigest, "0.1.0 wrote no digest: reported, not failed")
        XCTAssertEqual(v.problem, "audit 1 was finished by medpfl 0.1.0, before audit digests: it cannot be verified")
        let r = try store.assessment(audit: 1)
        XCTAssertEqual(r.provenance, .assessedNow, "0.1.0 stored no assessment")

        // What 0.1.0 itself printed for this audit (`show 1 --json`).
        let old = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture.appendingPathComponent("old-show.json"))) as! [String: Any]
        let a = old["assessment"] as! [String: Any]
        XCTAssertEqual(r.siteRisk?.rawValue, a["siteRisk"] as? String)
        XCTAssertEqual(r.recommendation, a["recommendation"] as? String)
        XCTAssertEqual(r.leastRisky, a["leastRisky"] as? String)
        let settings = a["settings"] as! [[String: Any]]
        XCTAssertEqual(r.settings.map(\.defence), settings.map { $0["defence"] as! String })
        for (s, o) in zip(r.settings, settings) {
            XCTAssertEqual(s.band?.rawValue, o["band"] as? String, s.defence)
            // 0.1.0's verdict, word for word, but for the 95% interval each attack's success rate now carries.
            XCTAssertTrue(s.verdict.filter { $0.contains(" rebuilt ") }.allSatisfy { $0.contains(", 95% CI ") }, "\(s.verdict)")
            // ... and for the guarantee line each setting now ends with (0.1.0 had none for these heuristic settings).
            XCTAssertEqual(s.verdict.last, "No formal guarantee: " + s.guarantee!.reason, s.defence)
            XCTAssertEqual(s.verdict.dropLast().map(Self.withoutIntervals), o["verdict"] as! [String], s.defence)
            for (x, y) in zip(s.attacks, o["attacks"] as! [[String: Any]]) {
                XCTAssertEqual(x.asr, y["asr"] as! Double, "\(s.defence) \(x.attack)")
                XCTAssertEqual(x.meanSSIM, y["meanSSIM"] as! Double, accuracy: 1e-12, "\(s.defence) \(x.attack)")
                XCTAssertEqual(x.maxSSIM, y["maxSSIM"] as! Double, accuracy: 1e-12, "\(s.defence) \(x.attack)")
                XCTAssertEqual(x.labelLeakage, y["labelLeakage"] as! Double, "\(s.defence) \(x.attack)")
            }
        }
        // The exact analytic images have an infinite PSNR in 0.1.0's trial rows; the one aggregation caps it.
        let exact = try XCTUnwrap(r.settings[0].attacks.first { $0.attack == "analytic" }?.statistics)
        XCTAssertEqual(exact.meanPSNR, 100)
        // Reading wrote nothing: the same bytes, no migration, and the reader refuses to write.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertThrowsError(try store.setStatus(.failed, audit: 1))
    }

    func testMigrateAddsTheTableAndKeepsTheOldAuditAsItWas() throws {
        let path = try copyOfOldLog()
        let writer = try AuditStore(path: path, create: false)
        XCTAssertEqual(try writer.pendingMigrations(), [])
        let r = try writer.assessment(audit: 1)
        XCTAssertEqual(r.provenance, .assessedNow, "a finished audit gains no assessment: it is immutable")
        XCTAssertEqual(try writer.trials(audit: 1).count, 8)
    }

    func testANewLogFromTheFutureIsRefused() throws {
        let path = try copyOfOldLog()
        let q = try DatabaseQueue(path: path)
        try q.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        XCTAssertThrowsError(try AuditStore(readingAt: path)) { XCTAssertTrue("\($0)".contains("newer medpfl"), "\($0)") }
    }

    /// A damaged log is never read as plausible data: an unknown value or a missing column is an error naming
    /// the table, the row id and the column.
    func testADamagedLogIsAnErrorNamingTableRowAndColumn() throws {
        let path = try copyOfOldLog()
        let q = try DatabaseQueue(path: path)
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER trials_finished_no_update")
            try db.execute(sql: "UPDATE trials SET attack_kind = 'no-such-attack' WHERE id = 3")
        }
        XCTAssertThrowsError(try AuditStore(readingAt: path).trials(audit: 1)) { e in
            XCTAssertTrue("\(e)".contains("trials row 3, column attack_kind: unknown attack 'no-such-attack'"), "\(e)")
            XCTAssertEqual((e as? AuditError)?.isInput, true, "a damaged log is bad input (exit 2)")
        }
        try q.write { db in
            try db.execute(sql: "UPDATE trials SET attack_kind = 'idlg' WHERE id = 3")
            try db.execute(sql: "ALTER TABLE trials DROP COLUMN iterations")
        }
        XCTAssertThrowsError(try AuditStore(readingAt: path).trials(audit: 1)) { e in
            XCTAssertTrue("\(e)".contains("trials row 1, column iterations: is missing"), "\(e)")
        }
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER audits_finished_no_update")
            try db.execute(sql: "UPDATE audits SET seed = 'x12' WHERE id = 1")
        }
        XCTAssertThrowsError(try AuditStore(readingAt: path).audits()) { e in
            XCTAssertTrue("\(e)".contains("audits row 1, column seed"), "\(e)")
        }
    }
}
