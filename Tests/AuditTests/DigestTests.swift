import Foundation
import GRDB
import XCTest
@testable import Audit

/// Tamper-evidence: digests of finished audits, `verify`, signatures, and the triggers that refuse forgery
/// through SQLite (`INSERT OR REPLACE` included).
final class DigestTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/log-0.2.0").path

    /// A finished audit (one sample, two settings) in a fresh log.
    func finishedAudit(_ fx: AuditFixture, key: AuditSigningKey? = nil) throws -> (AuditStore, Int64) {
        let file = try fx.write("a.yaml", AuditFixture.yaml())
        let store = try AuditStore(path: fx.path("a.sqlite"), signingKey: key)
        let r = try AuditFixture.run(file, store: store)
        XCTAssertEqual(r.status, .finished)
        return (store, r.auditID)
    }

    func testAFinishedAuditVerifiesAndItsDigestCoversEveryRow() throws {
        let fx = try AuditFixture()
        let (store, id) = try finishedAudit(fx)
        let v = try store.verify(audit: id)
        XCTAssertEqual(v.outcome, .intact, v.problem ?? "")
        XCTAssertEqual(v.signature, .unsigned)
        // 1 audit + 2 trials + 2 reconstructions + recommendation lines + 1 assessment.
        let recs = try store.recommendations(audit: id).count
        XCTAssertGreaterThan(recs, 0)
        XCTAssertEqual(v.rows, 1 + 2 + 2 + recs + 1)
        XCTAssertEqual(v.digest?.count, 64)
    }

    /// The forgery of issue 13: with the v2 triggers alone, INSERT OR REPLACE flipped a finished audit to
    /// running (deleting the old row without a DELETE trigger), rewrote every SSIM, and flipped it back.
    func testInsertOrReplaceForgeryIsRefusedAndCaughtWhenTheTriggersAreDropped() throws {
        let fx = try AuditFixture()
        let (store, id) = try finishedAudit(fx)
        let db = try DatabaseQueue(path: store.path)
        func replaceAudit(status: String) throws {
            try db.write { d in
                try d.execute(sql: """
                    INSERT OR REPLACE INTO audits SELECT id, site, model, model_version, model_sha256, config_json, config_sha256,
                      tool_version, seed, command_line, definition_path, shard, trials_planned, grid_size, started_at, finished_at,
                      ?, status_note, pid, host, process FROM audits WHERE id = ?
                    """, arguments: [status, id])
            }
        }
        XCTAssertThrowsError(try replaceAudit(status: "running")) { e in XCTAssertTrue("\(e)".contains("finished audit cannot be changed"), "\(e)") }
        XCTAssertThrowsError(try db.write { try $0.execute(sql: "INSERT OR REPLACE INTO trials SELECT * FROM trials WHERE audit_id = ?", arguments: [id]) })
        XCTAssertThrowsError(try db.write { try $0.execute(sql: "INSERT OR REPLACE INTO reconstructions SELECT * FROM reconstructions") })
        XCTAssertThrowsError(try db.write { try $0.execute(sql: "UPDATE audit_digests SET digest = 'x'") })
        XCTAssertThrowsError(try db.write { try $0.execute(sql: "DELETE FROM audit_digests") })
        XCTAssertEqual(try store.verify(audit: id).outcome, .intact)

        // Whoever can write the file can drop the triggers: then the forgery goes through, and verify catches it.
        try db.write { d in
            for name in try String.fetchAll(d, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") { try d.execute(sql: "DROP TRIGGER \(name)") }
        }
        try replaceAudit(status: "running")
        try db.write { try $0.execute(sql: "UPDATE trials SET ssim = 0.01, max_ssim = 0.01 WHERE audit_id = ?", arguments: [id]) }
        try replaceAudit(status: "finished")
        let firstTrial = try store.trials(audit: id).map(\.id).min()!
        let v = try store.verify(audit: id)
        XCTAssertEqual(v.outcome, .changed)
        XCTAssertEqual(v.problem, "trials row \(firstTrial) was changed after the audit finished")
    }

    func testEveryKindOfChangeIsNamed() throws {
        let fx = try AuditFixture()
        let (store, id) = try finishedAudit(fx)
        let clean = fx.path("clean.sqlite")
        try FileManager.default.copyItem(atPath: store.path, toPath: clean)
        func tampered(_ sql: String) throws -> AuditVerification {
            let p = fx.path("t-\(UUID().uuidString).sqlite")
            try FileManager.default.copyItem(atPath: clean, toPath: p)
            var config = Configuration()
            config.foreignKeysEnabled = false
            let q = try DatabaseQueue(path: p, configuration: config)
            try q.write { d in
                for name in try String.fetchAll(d, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") { try d.execute(sql: "DROP TRIGGER \(name)") }
                try d.execute(sql: sql)
            }
            try q.close()
            return try AuditStore(readingAt: p).verify(audit: id)
        }
        let recon = try store.reconstructions(audit: id).map(\.id)
        XCTAssertEqual(try tampered("UPDATE audits SET site = 'Other Site'").problem, "audits row \(id) was changed after the audit finished")
        XCTAssertEqual(try tampered("UPDATE reconstructions SET reconstruction_png = x'00' WHERE id = \(recon[1])").problem,
                       "reconstructions row \(recon[1]) was changed after the audit finished")
        XCTAssertEqual(try tampered("DELETE FROM reconstructions WHERE id = \(recon[0])").problem,
                       "reconstructions row \(recon[0]) was removed after the audit finished")
        XCTAssertEqual(try tampered("INSERT INTO recommendations (audit_id, position, kind, text) VALUES (\(id), 99, 'note', 'all is well')").problem?
                        .hasSuffix("was added after the audit finished"), true)
        XCTAssertEqual(try tampered("UPDATE assessments SET assessment_json = assessment_json || ' '").outcome, .changed)
        // A trial moved to another audit is missing from this one.
        XCTAssertTrue(try tampered("UPDATE trials SET audit_id = 99 WHERE id = (SELECT MAX(id) FROM trials)").problem!.contains("was removed"))
        // The digest itself rewritten (always to a different value: a digest may start with "00"; without a key to re-sign, or the filed report's digest, this is what is left).
        XCTAssertEqual(try tampered("UPDATE audit_digests SET digest = (CASE WHEN substr(digest, 1, 2) = '00' THEN 'ff' ELSE '00' END) || substr(digest, 3)").problem,
                       "audit_digests row \(id): the stored digest does not match the audit's rows (the digest was changed)")
        // The digest removed from an audit finished by a medpfl that writes them.
        let gone = try tampered("UPDATE audits SET tool_version = '0.2.0'; DELETE FROM audit_digests")
        XCTAssertEqual(gone.outcome, .changed)
        XCTAssertTrue(gone.problem!.contains("the digest was removed"), gone.problem!)
        // Audits finished before digests (the fixtures' "test" version stands for 0.1.0) are reported, not failed.
        XCTAssertEqual(try tampered("DELETE FROM audit_digests").outcome, .noDigest)
        // The expected digest from a filed report.
        let d = try store.verify(audit: id).digest!
        XCTAssertEqual(try store.verify(audit: id, expected: "sha256:" + d.prefix(16)).outcome, .intact)
        XCTAssertEqual(try store.verify(audit: id, expected: String(repeating: "0", count: 64)).outcome, .changed)
    }

    func testSignaturesTellWhichKeySignedAndCatchARewrittenDigest() throws {
        let fx = try AuditFixture()
        let key = AuditSigningKey.generate(), other = AuditSigningKey.generate()
        let (store, id) = try finishedAudit(fx, key: key)
        let v = try store.verify(audit: id, key: key.publicKey)
        XCTAssertEqual(v.outcome, .intact)
        XCTAssertEqual(v.signature, .valid)
        XCTAssertEqual(v.signedBy, key.publicKey.fingerprint)
        let wrong = try store.verify(audit: id, key: other.publicKey)
        XCTAssertEqual(wrong.outcome, .changed)
        XCTAssertEqual(wrong.signature, .otherKey)

        // A forger who rewrites rows, row hashes and digest consistently cannot sign without the key.
        let q = try DatabaseQueue(path: store.path)
        try q.write { d in
            for name in try String.fetchAll(d, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") { try d.execute(sql: "DROP TRIGGER \(name)") }
            try d.execute(sql: "UPDATE trials SET ssim = 0.01 WHERE audit_id = ?", arguments: [id])
            let v = AuditDigest.currentVersion
            let rows = try AuditDigest.rowHashes(d, audit: id, version: v)
            try d.execute(sql: "UPDATE audit_digests SET row_hashes = ?, digest = ? WHERE audit_id = ?",
                          arguments: [AuditDigest.pack(rows), try AuditDigest.digest(rows, shards: nil, version: v), id])
        }
        let forged = try store.verify(audit: id)
        XCTAssertEqual(forged.outcome, .changed)
        XCTAssertEqual(forged.signature, .invalid)
        XCTAssertEqual(forged.problem, "the signature does not match the digest")
        // Unsigned, but a signature required.
        let (plain, pid) = try finishedAudit(try AuditFixture())
        XCTAssertEqual(try plain.verify(audit: pid, key: key.publicKey).outcome, .changed)
    }

    /// The committed 0.2.0 log: the digest medpfl recomputes is the one the independent Python implementation
    /// of the documented encoding computed (scripts/verify_digest.py), so the encoding cannot drift unnoticed.
    func testTheCommittedLogVerifiesToThePythonDigest() throws {
        let path = Self.fixtures + "/signed.sqlite"
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let store = try AuditStore(readingAt: path)
        let key = try AuditVerifyingKey(file: Self.fixtures + "/site-key.pub")
        let v = try store.verify(audit: 1, key: key)
        XCTAssertEqual(v.outcome, .intact, v.problem ?? "")
        XCTAssertEqual(v.digest, "73df6c45ec05cc7a4790541b26891b9ce7b139d9c23aa79c9a368fb93e51156b")
        XCTAssertEqual(v.signature, .valid)
        XCTAssertEqual(v.signedBy, "ed25519:bd6970a2d7337cb8")
        let immutable = try AuditStore(readingAt: path, immutable: true).verify(audit: 1)
        XCTAssertEqual(immutable.digest, v.digest)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "reading and verifying change no byte")
    }

    func testKeyFilesInOpenSSLsAndMedpflsForms() throws {
        let fx = try AuditFixture()
        let ossl = try AuditSigningKey(file: Self.fixtures + "/ossl.pem")
        XCTAssertEqual(ossl.publicKey, try AuditVerifyingKey(file: Self.fixtures + "/ossl.pub"))
        // medpfl's PEM is OpenSSL's: the same bytes for the same key.
        let pem = try String(contentsOfFile: Self.fixtures + "/ossl.pem", encoding: .utf8)
        XCTAssertEqual(ossl.pem, pem)
        let raw = Data(ossl.publicKey.key.rawRepresentation)
        try raw.base64EncodedString().write(toFile: fx.path("b64.pub"), atomically: true, encoding: .utf8)
        try raw.write(to: URL(fileURLWithPath: fx.path("raw.pub")))
        XCTAssertEqual(try AuditVerifyingKey(file: fx.path("b64.pub")), ossl.publicKey)
        XCTAssertEqual(try AuditVerifyingKey(file: fx.path("raw.pub")), ossl.publicKey)
        // A private key where a public key is expected, and garbage: one-line input errors.
        XCTAssertThrowsError(try AuditVerifyingKey(file: Self.fixtures + "/ossl.pem")) { e in
            XCTAssertTrue("\(e)".contains("expected PUBLIC KEY"), "\(e)")
        }
        try "not a key".write(toFile: fx.path("bad.pem"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AuditSigningKey(file: fx.path("bad.pem"))) { e in XCTAssertTrue((e as? AuditError)?.isInput == true) }
        XCTAssertThrowsError(try AuditSigningKey(file: "/dev/zero")) { e in XCTAssertTrue("\(e)".contains("not a regular file"), "\(e)") }
    }

    func testAMergedAuditRecordsItsShardsDigestsAndATamperedShardIsRefusedWithoutWriting() throws {
        let fx = try AuditFixture()
        let file = try fx.write("a.yaml", AuditFixture.yaml())
        for k in 1...2 {
            let s = try AuditStore(path: fx.path("s\(k).sqlite"))
            _ = try AuditFixture.run(file, store: s, shard: try Shard(parsing: "\(k)/2"))
            s.checkpoint()
        }
        let shardDigests = try (1...2).map { try AuditStore(readingAt: fx.path("s\($0).sqlite")).verify(audit: 1).digest! }
        let out = try AuditStore(path: fx.path("out.sqlite"))
        let merged = try ShardMerge.merge(into: out, shards: [fx.path("s1.sqlite"), fx.path("s2.sqlite")], commandLine: "t", toolVersion: "test")
        XCTAssertEqual(merged[0].status, .finished)
        let d = try XCTUnwrap(try out.digest(audit: merged[0].auditID))
        XCTAssertEqual(d.shards?.map(\.digest), shardDigests)
        XCTAssertEqual(d.shards?.map(\.shard), ["1/2", "2/2"])
        XCTAssertEqual(try out.verify(audit: merged[0].auditID).outcome, .intact)

        // Change shard 2 after it finished: the merge is refused before anything is written anywhere.
        let q = try DatabaseQueue(path: fx.path("s2.sqlite"))
        try q.write { d in
            for name in try String.fetchAll(d, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") { try d.execute(sql: "DROP TRIGGER \(name)") }
            try d.execute(sql: "UPDATE trials SET ssim = 0.99")
        }
        try q.close()
        let shard1 = try Data(contentsOf: URL(fileURLWithPath: fx.path("s1.sqlite")))
        XCTAssertThrowsError(try ShardMerge.prepare(shards: [fx.path("s1.sqlite"), fx.path("s2.sqlite")], outPath: fx.path("new.sqlite"))) { e in
            XCTAssertTrue("\(e)".contains("was changed after it finished"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: fx.path("new.sqlite")))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fx.path("s1.sqlite"))), shard1)
    }
}
