import Foundation
import XCTest
@testable import Audit

/// Sharded runs merged equal the unsharded run trial for trial; merges never duplicate; compare.
final class ShardMergeCompareTests: XCTestCase {
    static let attacks = "  - idlg: {iterations: 2, max_iter: 2}\n  - analytic\n"

    func testShardsMergedEqualTheUnshardedRunTrialForTrial() throws {
        let f = try AuditFixture()
        let file = try f.write("a.yaml", AuditFixture.yaml(samples: 2, attacks: Self.attacks,
                                                             defences: "  - none\n  - laplace:level=100\n  - secagg:clients=2\n"))
        let whole = try AuditStore(path: f.path("whole.sqlite"))
        let full = try AuditFixture.run(file, store: whole)
        var shardPaths: [String] = []
        for k in 1...3 {
            let p = f.path("shard-\(k).sqlite")
            let r = try AuditFixture.run(file, store: try AuditStore(path: p), shard: try Shard(parsing: "\(k)/3"))
            XCTAssertEqual(r.status, .finished)
            XCTAssertNil(r.report, "a shard gives no verdict on its own")
            shardPaths.append(p)
        }
        let out = try AuditStore(path: f.path("merged.sqlite"))
        // First two shards: incomplete, left interrupted.
        let partial = try ShardMerge.merge(into: out, shards: Array(shardPaths.prefix(2)), commandLine: "test", toolVersion: "test")
        XCTAssertEqual(partial.count, 1)
        XCTAssertEqual(partial[0].status, .interrupted)
        // All three, the first two again: nothing is duplicated and the audit finishes.
        let merged = try ShardMerge.merge(into: out, shards: shardPaths, commandLine: "test", toolVersion: "test")[0]
        XCTAssertEqual(merged.auditID, partial[0].auditID)
        XCTAssertEqual(merged.status, .finished)
        XCTAssertEqual(merged.added, 12 - partial[0].recorded)
        XCTAssertEqual(merged.skipped, partial[0].recorded)

        let a = try whole.trials(audit: full.auditID), b = try out.trials(audit: merged.auditID)
        XCTAssertEqual(a.count, 12)
        XCTAssertEqual(b.map(\.key), a.map(\.key))
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.seed, y.seed)
            XCTAssertEqual(x.ssim, y.ssim, x.key)
            XCTAssertEqual(x.mse, y.mse, x.key)
            XCTAssertEqual(x.recoveredLabels, y.recoveredLabels, x.key)
            XCTAssertEqual(x.imagePaths, y.imagePaths, x.key)
            XCTAssertEqual(x.effect.snr, y.effect.snr, x.key)
            XCTAssertEqual(try whole.reconstructions(trial: x.id).map(\.reconstructionPNG), try out.reconstructions(trial: y.id).map(\.reconstructionPNG))
        }
        XCTAssertEqual(try out.assessment(audit: merged.auditID), try whole.assessment(audit: full.auditID))
        XCTAssertEqual(try out.requireAudit(id: merged.auditID).configSHA256, try whole.requireAudit(id: full.auditID).configSHA256)
        XCTAssertThrowsError(try ShardMerge.merge(into: out, shards: [shardPaths[0]], commandLine: "t", toolVersion: "t")) { e in
            XCTAssertTrue("\(e)".contains("already holds finished audit"), "\(e)")
        }
        // Shards of another audit are refused.
        let other = try f.write("b.yaml", AuditFixture.yaml(seed: 9, attacks: Self.attacks))
        let otherShard = f.path("other.sqlite")
        _ = try AuditFixture.run(other, store: try AuditStore(path: otherShard), shard: try Shard(parsing: "1/2"))
        XCTAssertThrowsError(try ShardMerge.merge(into: try AuditStore(path: f.path("m2.sqlite")), shards: [shardPaths[0], otherShard],
                                                  commandLine: "t", toolVersion: "t")) { e in
            XCTAssertTrue("\(e)".contains("refusing to merge"), "\(e)")
        }
    }

    func testCompareAcrossModelVersionsAndDefences() throws {
        let f = try AuditFixture()
        let store = try AuditStore(path: f.path("c.sqlite"))
        let a = try AuditFixture.run(try f.write("a.yaml", AuditFixture.yaml(attacks: Self.attacks)), store: store)
        let bText = AuditFixture.yaml(attacks: Self.attacks, defences: "  - none\n  - gaussian:scale=1\n")
            .replacingOccurrences(of: "version: v1", with: "version: v2")
        let b = try AuditFixture.run(try f.write("b.yaml", bText), store: store)
        let c = try AuditComparison.compare(store, a.auditID, b.auditID)
        XCTAssertEqual(c.a.modelVersion, "v1")
        XCTAssertEqual(c.b.modelVersion, "v2")
        XCTAssertTrue(c.settingDifferences.contains { $0.hasPrefix("model.version: v1 -> v2") }, "\(c.settingDifferences)")
        XCTAssertTrue(c.settingDifferences.contains { $0.hasPrefix("defences:") }, "\(c.settingDifferences)")
        let row = try XCTUnwrap(c.rows.first { $0.attack == "analytic" && $0.defence == "none" })
        XCTAssertEqual(row.bandA, .high, "exact recovery without defence")
        XCTAssertEqual(row.bandB, .high)
        XCTAssertEqual(row.change, "same")
        XCTAssertEqual(row.deltaASR, 0)
        XCTAssertEqual(c.rows.first { $0.defence == "laplace:level=100" && $0.attack == "analytic" }?.change, "only in A")
        XCTAssertEqual(c.rows.first { $0.defence == "gaussian:scale=1" && $0.attack == "analytic" }?.change, "only in B")
        XCTAssertEqual(c.a.siteRisk, .high)
        let same = try AuditComparison.compare(store, a.auditID, a.auditID)
        XCTAssertTrue(same.settingDifferences.isEmpty)
        XCTAssertThrowsError(try AuditComparison.compare(store, a.auditID, 99))
    }
}
