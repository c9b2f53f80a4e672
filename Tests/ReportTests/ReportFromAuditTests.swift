import Audit
import Foundation
import XCTest
@testable import Report

/// `ReportData(store:auditID:)` on real audits: two small audits of one site on the bundled images
/// (an MLP, so the analytic attack applies and is exact, and a 2-step iDLG), the second compared with
/// the first.
final class ReportFromAuditTests: XCTestCase {
    func runAudit(_ yaml: String, in dir: String, store: AuditStore) throws -> Int64 {
        let file = dir + "/audit.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let plan = try AuditPlan.prepare(try AuditDefinitionParser.load(file))
        let runner = AuditRunner(plan: plan, store: store)
        runner.commandLine = "medpfl audit audit.yaml --db log.sqlite"
        runner.toolVersion = "test"
        runner.workers = 2
        let (id, resumed) = try runner.open()
        let result = try runner.run(audit: id, resumed: resumed, stop: StopFlag())
        XCTAssertEqual(result.status, .finished)
        return id
    }

    /// Batches of 4 under both threat models: the report lists each intercepted update's figures and the
    /// per-threat table says that secure aggregation does not stop the imprint attack.
    func testBatchAuditReportsEachUpdateAndBothThreatModels() throws {
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try AuditStore(path: dir + "/log.sqlite")
        let id = try runAudit("""
            site: Batch Ward
            seed: 11
            model: {name: mlp, classes: 6, input_size: 32, version: v1}
            data: {folder: \(ReportFixture.packageRoot.path)/data/medical-sample/32, samples: 2, selection_seed: 3}
            fl: {algorithm: fedsgd, batch_size: 4}
            attacks: [ilrg, imprint]
            defences: [none, "secagg:clients=2"]
            """, in: dir, store: store)
        let data = try ReportData(store: store, auditID: id)
        let row = try XCTUnwrap(data.row(attack: "imprint", setting: "none"))
        let updates = try XCTUnwrap(row.updates)
        XCTAssertEqual(updates.map(\.images), [4, 4])
        XCTAssertEqual(updates.map(\.rebuilt).reduce(0, +), Int((row.asr * Double(row.images)).rounded()), "the updates add up to the row")
        XCTAssertEqual(try XCTUnwrap(data.row(attack: "imprint", setting: "secagg:clients=2")?.updates).map(\.images), [8, 8])
        let out = dir + "/report"
        _ = try ReportWriter.write(data, to: out)
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.contains("Per intercepted update (in sample order):"), md)
        XCTAssertTrue(md.contains("- Imprint (Robbing the Fed) (Fowl et al. 2022): 2 intercepted updates of 4 images: rebuilt \(updates[0].rebuilt) and \(updates[1].rebuilt)"), md)
        let threats = try XCTUnwrap(data.threats)
        XCTAssertEqual(threats[1].id, "malicious-server")
        XCTAssertFalse(threats[1].stoppedBy.contains("secagg:clients=2"))
        XCTAssertTrue(md.contains("| A malicious server that modifies the model it sends | Imprint (Robbing the Fed) (Fowl et al. 2022) | **High** |"), md)
    }

    func yaml(declared: String) -> String {
        """
        site: "Ward <7> & Co"
        seed: 11
        model: {name: mlp, classes: 6, input_size: 32, version: v1}
        data: {folder: \(ReportFixture.packageRoot.path)/data/medical-sample/32, samples: 2, selection_seed: 3}
        fl: {algorithm: fedsgd, batch_size: 1}
        attacks:
          - analytic: {}
          - idlg: {iterations: 2}
        defences: [none, "laplace:level=100"]
        declared_defence: "\(declared)"
        """
    }

    func testReportDataFromTwoAuditsOfOneSite() throws {
        let dir = ReportFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try AuditStore(path: dir + "/log.sqlite")
        let first = try runAudit(yaml(declared: "none"), in: dir, store: store)
        usleep(20_000)
        let second = try runAudit(yaml(declared: "laplace:level=100"), in: dir, store: store)

        let data = try ReportData(store: store, auditID: second)
        try data.validate()
        XCTAssertEqual(data.metadata.auditID, String(second))
        XCTAssertEqual(data.metadata.site, "Ward <7> & Co")
        XCTAssertEqual(data.metadata.declaredSetting, "laplace:level=100")
        XCTAssertEqual(data.metadata.sampleSize, 2)
        XCTAssertEqual(data.metadata.command, "medpfl audit audit.yaml --db log.sqlite")
        XCTAssertEqual(data.attacks.map(\.id), ["analytic", "idlg"])
        XCTAssertEqual(data.settings.map(\.id), ["none", "laplace:level=100"])
        XCTAssertNil(data.settings[0].snrDB, "no defence: infinite SNR")
        XCTAssertNotNil(data.settings[1].snrDB)
        XCTAssertEqual(data.rows.count, 4)
        // The analytic attack is exact on an MLP without defence: every image rebuilt, high risk.
        let exact = try XCTUnwrap(data.row(attack: "analytic", setting: "none"))
        XCTAssertEqual(exact.asr, 1)
        XCTAssertGreaterThan(exact.meanSSIM, 0.99)
        XCTAssertEqual(exact.band, .high)
        XCTAssertEqual(data.settings[0].band, .high)
        XCTAssertEqual(data.samples.map(\.index), [0, 1])
        XCTAssertEqual(Set(data.samples.map(\.className)).count, 2, "two classes, named by their folders")
        XCTAssertEqual(data.reconstructions.count, 2 * 2 * 2)
        XCTAssertEqual(data.bands.map(\.level), [.low, .medium, .high])
        XCTAssertTrue(data.limitations.contains { $0.contains("seeded initial weights") })
        // Both threat models are in scope by default; the audit ran only eavesdropper attacks.
        let threats = try XCTUnwrap(data.threats)
        XCTAssertEqual(threats.map(\.id), ["eavesdropper", "malicious-server"])
        XCTAssertEqual(threats[0].attacks, ["analytic", "idlg"])
        XCTAssertEqual(threats[0].declaredBand, data.setting("laplace:level=100")?.band)
        XCTAssertEqual(threats[0].settingBands.map(\.band), data.settings.map(\.band))
        XCTAssertFalse(threats[1].assessed)
        XCTAssertEqual(data.attacks.map(\.threatModel), ["eavesdropper", "eavesdropper"])

        let previous = try XCTUnwrap(data.previous, "the first audit of the site is the previous one")
        XCTAssertEqual(previous.auditID, String(first))
        XCTAssertEqual(previous.declaredSetting, "none")
        XCTAssertEqual(previous.rows.count, 4)
        XCTAssertNil(try ReportData(store: store, auditID: first).previous)

        // And the whole report renders from it.
        let out = dir + "/report"
        let written = try ReportWriter.write(data, to: out)
        XCTAssertEqual(written.images.count, 1 + 2 * 2)
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("# Gradient-leakage risk report: Ward \\<7\\> \\& Co\n"))
        XCTAssertTrue(md.contains("## Comparison with the previous audit"))
        XCTAssertTrue(md.contains("| Analytic recovery (Phong et al. 2018) | 100% (2 of 2, 34–100%) |"), md)
        XCTAssertTrue(md.contains("**By threat model**"), md)
        XCTAssertTrue(md.contains("| A malicious server that modifies the model it sends | none run | **Not assessed** | — | — |"), md)
        XCTAssertTrue(md.contains("against a malicious server that modifies the model it sends, not assessed"), md)
        XCTAssertFalse(md.contains("Per intercepted update"), "batch 1: the row says it all")
        XCTAssertThrowsError(try ReportData(store: store, auditID: 99)) { e in
            XCTAssertTrue("\(e)".contains("no audit 99"), "\(e)")
        }
    }
}
