import Foundation
import GRDB

/// What `medpfl verify` found for one audit.
public struct AuditVerification: Sendable, Encodable {
    public enum Outcome: String, Sendable, Encodable {
        /// Every row is as it was when the audit finished (and the signature, when checked, is valid).
        case intact
        /// Something differs: `problem` names the first table and row.
        case changed
        /// Finished by a medpfl that wrote no digest (before 0.2.0): it cannot be verified.
        case noDigest = "no-digest"
        /// Not finished: there is nothing to verify yet.
        case unfinished
    }

    public enum Signature: String, Sendable, Encodable {
        /// Valid, by the key given with --verify-key (or, without one, by the key recorded beside it).
        case valid
        /// No signature was recorded.
        case unsigned
        /// Signed, but not by the key given with --verify-key.
        case otherKey = "other-key"
        /// The signature does not match the digest.
        case invalid
    }

    public let audit: Int64
    public let status: String
    public let outcome: Outcome
    public let digest: String?
    public let digestVersion: Int?
    public let rows: Int?
    public let signature: Signature?
    /// Fingerprint of the key the digest is signed with.
    public let signedBy: String?
    /// The first difference found, in words ("trials row 17 was changed").
    public let problem: String?
}

extension AuditStore {
    /// The stored digest of an audit (nil when it has none, or the log predates digests).
    public func digest(audit: Int64) throws -> AuditDigestRecord? {
        try read { db in
            guard try db.tableExists("audit_digests") else { return nil }
            return try fetchRecords(db, AuditDigestRecord.self, sql: "SELECT * FROM audit_digests WHERE audit_id = ?", arguments: [audit]).first
        }
    }

    /// Recomputes an audit's digest from its rows and compares it with the stored one; checks the signature
    /// (against `key` when given) and, when given, that the digest is `expected` (e.g. the one printed in a
    /// filed report).
    public func verify(audit id: Int64, key: AuditVerifyingKey? = nil, expected: String? = nil) throws -> AuditVerification {
        let a = try requireAudit(id: id)
        func result(_ o: AuditVerification.Outcome, _ d: AuditDigestRecord?, signature: AuditVerification.Signature? = nil,
                    signer: String? = nil, _ problem: String? = nil) -> AuditVerification {
            AuditVerification(audit: id, status: a.status.rawValue, outcome: o, digest: d?.digest, digestVersion: d?.version,
                              rows: d?.rows, signature: signature, signedBy: signer, problem: problem)
        }
        guard a.status == .finished else {
            return result(.unfinished, nil, "audit \(id) is \(a.status.rawValue): nothing to verify until it finishes")
        }
        guard let d = try digest(audit: id) else {
            if AuditDigest.writtenBy(toolVersion: a.toolVersion) {
                return result(.changed, nil, "audit \(id) was finished by medpfl \(a.toolVersion), which records a digest, "
                              + "but the log holds none: the digest was removed")
            }
            return result(.noDigest, nil, "audit \(id) was finished by medpfl \(a.toolVersion), before audit digests: it cannot be verified")
        }
        guard let tables = AuditDigest.tables(version: d.version) else {
            throw AuditError.input("audit \(id) has a digest of version \(d.version), which this medpfl does not know; verify it with a newer medpfl")
        }
        let now: [AuditDigest.RowHash]
        do { now = try read { db in try AuditDigest.rowHashes(db, audit: id, version: d.version) } } catch let e as AuditError {
            return result(.changed, d, "the log no longer has the columns its digest covers (\(e.description))")
        }
        guard let stored = AuditDigest.unpack(d.rowHashes) else {
            return result(.changed, d, "audit_digests row \(id): its row hashes are damaged")
        }
        func rowName(_ r: AuditDigest.RowHash) -> String {
            let t = tables[Int(r.table)]
            return "\(t.name) row \(r.key)"
        }
        if let problem = Self.firstDifference(stored: stored, now: now, name: rowName) {
            return result(.changed, d, problem)
        }
        let recomputed = try AuditDigest.digest(now, shards: d.shards, version: d.version)
        guard recomputed == d.digest else {
            return result(.changed, d, "audit_digests row \(id): the stored digest does not match the audit's rows (the digest was changed)")
        }
        if let e = expected?.lowercased().replacingOccurrences(of: "sha256:", with: ""), !d.digest.hasPrefix(e) || e.count < 16 {
            return result(.changed, d, "the digest is sha256:\(d.digest), not the expected \(expected!)")
        }
        // The signature.
        guard let sig = d.signature, let keyText = d.signingKey else {
            if key != nil { return result(.changed, d, signature: .unsigned, "the digest is not signed, but a signature by \(key!.fingerprint) was required") }
            return result(.intact, d, signature: .unsigned)
        }
        guard let recorded = AuditVerifyingKey(stored: keyText) else {
            return result(.changed, d, signature: .invalid, "audit_digests row \(id): the recorded signing key is damaged")
        }
        guard recorded.isValid(signature: sig, digest: d.digest, version: d.version) else {
            return result(.changed, d, signature: .invalid, signer: recorded.fingerprint, "the signature does not match the digest")
        }
        if let k = key, k != recorded {
            return result(.changed, d, signature: .otherKey, signer: recorded.fingerprint,
                          "signed by \(recorded.fingerprint), not by the given key \(k.fingerprint)")
        }
        return result(.intact, d, signature: .valid, signer: recorded.fingerprint)
    }

    /// The first row that was changed, removed or added, in digest order.
    static func firstDifference(stored: [AuditDigest.RowHash], now: [AuditDigest.RowHash], name: (AuditDigest.RowHash) -> String) -> String? {
        var i = 0, j = 0
        func place(_ r: AuditDigest.RowHash) -> (UInt8, Int64) { (r.table, r.key) }
        while i < stored.count || j < now.count {
            if i < stored.count, j < now.count, place(stored[i]) == place(now[j]) {
                if stored[i].hash != now[j].hash { return "\(name(now[j])) was changed after the audit finished" }
                i += 1; j += 1
            } else if j >= now.count || (i < stored.count && place(stored[i]) < place(now[j])) {
                return "\(name(stored[i])) was removed after the audit finished"
            } else {
                return "\(name(now[j])) was added after the audit finished"
            }
        }
        return nil
    }
}

extension AuditDigest {
    /// True when a medpfl of this version writes a digest for every audit it finishes (0.2.0 and later).
    static func writtenBy(toolVersion: String) -> Bool {
        let parts = toolVersion.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        let v = parts + Array(repeating: 0, count: max(0, 3 - parts.count))
        return (v[0], v[1], v[2]) >= (0, 2, 0)
    }
}
