import Foundation
import GRDB
import XCTest
@testable import Audit

/// The audit log: schema migrations, recorded trials, immutability of finished audits, file modes.
final class StoreTests: XCTestCase {
    func testMigrationsOwnerOnlyFileAndReopen() throws {
        let f = try AuditFixture()
        let path = f.path("log/audit.sqlite")
        let store = try AuditStore(path: path)
        XCTAssertEqual(try store.appliedMigrations(), ["v1-audit-log", "v2-finished-audits-are-immutable", "v3-stored-assessments", "v4-audit-digests", "v5-verdict-evidence", "v6-utility-evidence"])
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o600, "the log holds patient images: owner-only")
        let dirMode = (try FileManager.default.attributesOfItem(atPath: f.path("log"))[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(dirMode, 0o700)
        XCTAssertEqual(try AuditStore(path: path).appliedMigrations().count, 6, "reopening applies nothing twice")
        XCTAssertEqual(try store.integrityCheck(), "ok")
        XCTAssertThrowsError(try AuditStore(path: f.path("absent.sqlite"), create: false))
        try f.write("junk.sqlite", String(repeating: "not a database ", count: 100))
        XCTAssertThrowsError(try AuditStore(path: f.path("junk.sqlite"))) { e in
            XCTAssertTrue("\(e)".contains("not an SQLite database"), "\(e)")
        }
    }

    func testRunRecordsEveryTrialWithImagesAndFinishedAuditIsImmutable() throws {
        let f = try AuditFixture()
        let file = try f.write("a.yaml", AuditFixture.yaml(attacks: "  - idlg: {iterations: 2, max_iter: 2}\n  - analytic\n"))
        let store = try AuditStore(path: f.path("a.sqlite"))
        let result = try AuditFixture.run(file, store: store)
        XCTAssertEqual(result.status, .finished)
        let id = result.auditID
        let trials = try store.trials(audit: id)
        XCTAssertEqual(trials.count, 4)
        XCTAssertEqual(Set(trials.map(\.key)), ["s000/idlg/none", "s000/idlg/laplace:level=100", "s000/analytic/none", "s000/analytic/laplace:level=100"])
        let analytic = try XCTUnwrap(trials.first { $0.key == "s000/analytic/none" })
        XCTAssertTrue(analytic.applicable, "mlp's first layer is fully connected")
        XCTAssertGreaterThan(analytic.ssim ?? 0, 0.99, "analytic recovery is exact without defence")
        XCTAssertEqual(analytic.recoveredLabels, analytic.trueLabels.map { Optional($0) })
        XCTAssertEqual(analytic.imageSHA256.count, 1)
        XCTAssertEqual(analytic.imageSHA256[0].count, 64)
        XCTAssertEqual(analytic.seed, TrialRunner.seed(audit: 5, key: analytic.key), "the trial seed derives from the audit seed and key")
        let noisy = try XCTUnwrap(trials.first { $0.key == "s000/analytic/laplace:level=100" })
        XCTAssertLessThan(noisy.effect.snr, 100)
        XCTAssertGreaterThan(noisy.effect.fractionChanged, 0.99)
        let recon = try store.reconstructions(trial: analytic.id)
        XCTAssertEqual(recon.count, 1)
        XCTAssertEqual(Array(recon[0].reconstructionPNG.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "PNG bytes")
        XCTAssertEqual(Array(recon[0].originalPNG.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertEqual(try store.reconstructions(audit: id, defence: "none", attack: "analytic").count, 1)
        let a = try store.requireAudit(id: id)
        XCTAssertEqual(a.status, .finished)
        XCTAssertNotNil(a.finishedAt)
        XCTAssertEqual(try store.recommendations(audit: id).first?.kind, .site)
        XCTAssertEqual(try store.previousAudit(site: "Test Site", before: Date().addingTimeInterval(60))?.id, id)
        XCTAssertNil(try store.previousAudit(site: "Test Site", before: a.startedAt))

        // The assessment was stored when the audit finished, and is what the store shows from then on.
        let stored = try store.assessment(audit: id)
        XCTAssertEqual(stored.provenance, .stored)
        var again = try store.assessNow(audit: id)
        again.provenance = .stored
        XCTAssertEqual(stored, again, "stored = assessed from the trials by the same rules")
        XCTAssertEqual(stored.siteRisk, .high)

        // Through the API: refused.
        XCTAssertThrowsError(try store.setStatus(.running, audit: id)) { XCTAssertTrue("\($0)".contains("finished")) }
        XCTAssertThrowsError(try store.finish(audit: id, recommendations: []))
        XCTAssertThrowsError(try store.record(utility: UtilityRunRecord(auditID: id, defence: "none", accuracy: 1, baselineAccuracy: 1,
                                                                        rounds: 1, clients: 1, seed: 1, seconds: 0, details: nil)))
        // Directly in SQL: the triggers refuse it too.
        let db = try DatabaseQueue(path: store.path)
        for sql in ["UPDATE audits SET site = 'x' WHERE id = \(id)", "DELETE FROM audits WHERE id = \(id)",
                    "UPDATE trials SET ssim = 1 WHERE audit_id = \(id)", "DELETE FROM trials WHERE audit_id = \(id)",
                    "UPDATE reconstructions SET ssim = 1", "DELETE FROM reconstructions",
                    "DELETE FROM recommendations WHERE audit_id = \(id)",
                    "UPDATE assessments SET assessment_json = '{}' WHERE audit_id = \(id)", "DELETE FROM assessments WHERE audit_id = \(id)",
                    "INSERT INTO utility_runs (audit_id, defence, accuracy, baseline_accuracy, accuracy_drop, rounds, clients, seed, seconds, recorded_at) VALUES (\(id), 'none', 1, 1, 0, 1, 1, '1', 0, '2025-01-01')"] {
            XCTAssertThrowsError(try db.write { try $0.execute(sql: sql) }, sql) { e in
                XCTAssertTrue("\(e)".contains("finished audit cannot be changed"), "\(sql): \(e)")
            }
        }
        XCTAssertEqual(try store.trials(audit: id).count, 4)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testUtilityRunsMeasureEachDefenceAgainstTheSameTraining() throws {
        let f = try AuditFixture()
        let file = try f.write("a.yaml", AuditFixture.yaml(extra: "utility:\n  max_accuracy_drop: 0.05\n  rounds: 2\n  clients: 2\n  local_steps: 1\n"))
        let store = try AuditStore(path: f.path("u.sqlite"))
        let r = try AuditFixture.run(file, store: store)
        let runs = try store.utilityRuns(audit: r.auditID)
        XCTAssertEqual(runs.map(\.defence).sorted(), ["laplace:level=100", "none"])
        let baseline = try XCTUnwrap(runs.first { $0.defence == "none" })
        XCTAssertEqual(baseline.drop, 0)
        XCTAssertTrue(runs.allSatisfy { $0.baselineAccuracy == baseline.accuracy && $0.rounds == 2 && $0.clients == 2 })
        let report = try XCTUnwrap(r.report)
        XCTAssertTrue(report.utilityMeasured)
        XCTAssertNotNil(report.settings[1].accuracyDrop)
        XCTAssertTrue(report.settings[1].verdict.contains { $0.hasPrefix("Accuracy cost:") && !$0.contains("not measured") })
        // Sharded: shard 1 does the utility runs, the others do not.
        let s2 = try AuditStore(path: f.path("s2.sqlite"))
        let r2 = try AuditFixture.run(file, store: s2, shard: try Shard(parsing: "2/2"))
        XCTAssertTrue(try s2.utilityRuns(audit: r2.auditID).isEmpty)
    }

    func testListedImagesWithFedAvgUpdates() throws {
        let f = try AuditFixture()
        let ct = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: AuditFixture.images + "/ct").sorted().first)
        let xray = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: AuditFixture.images + "/xray").sorted().first)
        let file = try f.write("a.yaml", """
            site: Listed
            model: {name: mlp, classes: 6}
            data:
              images:
                - {path: \(AuditFixture.images)/ct/\(ct), label: 0}
                - {path: \(AuditFixture.images)/xray/\(xray), label: 5}
              samples: 1
            fl: {algorithm: fedavg, batch_size: 2, local_steps: 2, lr: 0.05}
            attacks:
              - idlg: {iterations: 2, max_iter: 2}
            defences: [none]
            """)
        let store = try AuditStore(path: f.path("a.sqlite"))
        let r = try AuditFixture.run(file, store: store)
        let trials = try store.trials(audit: r.auditID)
        XCTAssertEqual(trials.count, 1)
        XCTAssertEqual(trials[0].images, 2)
        XCTAssertEqual(Set(trials[0].trueLabels), [0, 5])
        XCTAssertEqual(Set(trials[0].imagePaths), ["\(AuditFixture.images)/ct/\(ct)", "\(AuditFixture.images)/xray/\(xray)"])
        XCTAssertEqual(try store.reconstructions(trial: trials[0].id).count, 2)
        XCTAssertEqual(try store.requireAudit(id: r.auditID).config().definition.fl.localSteps, 2)
    }

    func testRecordingATrialTwiceIsRefusedAndResumeRequiresSameConfiguration() throws {
        let f = try AuditFixture()
        let file = try f.write("a.yaml", AuditFixture.yaml())
        let store = try AuditStore(path: f.path("a.sqlite"))
        let plan = try AuditPlan.prepare(try AuditDefinitionParser.load(file))
        let runner = AuditRunner(plan: plan, store: store)
        runner.toolVersion = "test"
        let (id, _) = try runner.open()
        let outcome = try TrialRunner.run(plan.trials[0], plan: plan)
        XCTAssertTrue(try store.record(outcome, audit: id))
        XCTAssertFalse(try store.record(outcome, audit: id), "a trial key is recorded once per audit")
        XCTAssertEqual(try store.trialCount(audit: id), 1)
        try store.setStatus(.interrupted, audit: id)

        // Another medpfl version may compute trials differently: one audit must not mix them.
        let sql = try DatabaseQueue(path: store.path)
        try sql.write { try $0.execute(sql: "UPDATE audits SET tool_version = '0.0.9' WHERE id = ?", arguments: [id]) }
        XCTAssertThrowsError(try AuditFixture.run(file, store: store, resume: .id(id))) { e in
            XCTAssertTrue("\(e)".contains("was started by medpfl 0.0.9; this is medpfl test"), "\(e)")
        }
        try sql.write { try $0.execute(sql: "UPDATE audits SET tool_version = 'test' WHERE id = ?", arguments: [id]) }

        let other = try f.write("b.yaml", AuditFixture.yaml(seed: 6))
        XCTAssertThrowsError(try AuditFixture.run(other, store: store, resume: .id(id))) { e in
            XCTAssertTrue("\(e)".contains("different configuration"), "\(e)")
        }
        XCTAssertThrowsError(try AuditFixture.run(other, store: store, resume: .latest)) { e in
            XCTAssertTrue("\(e)".contains("nothing to resume"), "\(e)")
        }
        let resumed = try AuditFixture.run(file, store: store, resume: .latest)
        XCTAssertEqual(resumed.auditID, id)
        XCTAssertTrue(resumed.resumed)
        XCTAssertEqual(resumed.trialsSkipped, 1)
        XCTAssertEqual(resumed.trialsRun, 1)
        XCTAssertEqual(try store.trialCount(audit: id), 2)
        XCTAssertThrowsError(try AuditFixture.run(file, store: store, resume: .id(id))) { e in
            XCTAssertTrue("\(e)".contains("already finished"), "\(e)")
        }
        // Resuming the newest run of a finished configuration is a no-op (re-queued cluster jobs).
        let again = try AuditFixture.run(file, store: store, resume: .latest)
        XCTAssertEqual(again.auditID, id)
        XCTAssertEqual(again.trialsRun, 0)
        XCTAssertEqual(again.status, .finished)
        XCTAssertEqual(try store.trialCount(audit: id), 2)
    }
}
