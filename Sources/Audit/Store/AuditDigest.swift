import Crypto
import Foundation
import GRDB

/// The tamper-evidence of finished audits: a SHA-256 digest over every row an audit consists of, in a
/// documented, versioned canonical encoding (audits/SCHEMA.md, "Audit digests"), written in the transaction
/// that finishes the audit and optionally signed with Ed25519.
///
/// Triggers refuse changes made through SQLite; the digest makes *any* change detectable, including one made
/// by someone who drops the triggers or edits the file's bytes: `medpfl verify` recomputes it. Whoever can
/// write the file can also recompute an unsigned digest, so the digest printed in the filed report (compare
/// it with `verify --expect`) or a signature by a key the site keeps elsewhere is what proves the log.
///
/// Encoding, version 1 (version 2: the same encoding over the columns schema v5 added as well; version 3: and
/// `utility_runs.utility_evidence`, schema v6). Each row is encoded as: the table name, the row's key (its `id`, or `audit_id` for
/// `assessments`), the number of columns, then per column its name and its value: a tag byte (0 NULL,
/// 1 INTEGER, 2 REAL, 3 TEXT, 4 BLOB) followed by an 8-byte big-endian integer, the 8 bytes of the IEEE-754
/// double (big-endian), or an 8-byte big-endian length and the bytes (UTF-8 for TEXT). Names are a 4-byte
/// big-endian length and UTF-8. A row's hash is the SHA-256 of its encoding. The audit's digest is the
/// SHA-256 of "medpfl audit digest v1\n", then per row, in the order below, one byte (the table's position),
/// the key (8 bytes, big-endian) and the row's hash (32 bytes), then the byte 0xFF, and the shards' digests
/// (merged audits) as the log's sorted-key JSON, length-prefixed like a name.
/// Rows, in order: the `audits` row; `trials` of the audit by id; their `reconstructions` by id;
/// `utility_runs` by id; `recommendations` by id; the `assessments` row. Columns: exactly those listed in
/// `tables(version:)`; a column added to a table later is covered by a new digest version.
public enum AuditDigest {
    public static let currentVersion = 3
    /// The text signed by Ed25519 is this prefix, the version, a space and the digest in hex.
    static let signaturePrefix = "medpfl audit digest v"

    struct Table: Sendable {
        let name: String
        let key: String
        let columns: [String]
        /// Selects the audit's rows (one `?`: the audit id), ordered by key.
        let rows: String
    }

    /// The tables and columns a digest version covers (nil for a version this medpfl does not know).
    static func tables(version: Int) -> [Table]? {
        guard (1...3).contains(version) else { return nil }
        // Version 2 (schema v5) adds the columns of the verdict evidence: trials' leakage_evidence and
        // late_loss_drop, reconstructions' re-identification ranks, pool and prior SSIM.
        let trialColumns = version == 1 ? AuditStore.trialColumnsV1 : AuditStore.trialColumns
        let reconstructionColumns = version == 1 ? AuditStore.reconstructionColumnsV1 : AuditStore.reconstructionColumns
        func t(_ name: String, key: String = "id", _ columns: [String], _ filter: String) -> Table {
            let cols = ([key] + columns.filter { $0 != key }).map { "\"\($0)\"" }.joined(separator: ", ")
            return Table(name: name, key: key, columns: [key] + columns.filter { $0 != key },
                         rows: "SELECT \(cols) FROM \(name) WHERE \(filter) ORDER BY \(key)")
        }
        return [
            t("audits", ["site", "model", "model_version", "model_sha256", "config_json", "config_sha256", "tool_version", "seed",
                         "command_line", "definition_path", "shard", "trials_planned", "grid_size", "started_at", "finished_at",
                         "status", "status_note", "pid", "host", "process"], "id = ?"),
            t("trials", ["audit_id"] + trialColumns, "audit_id = ?"),
            t("reconstructions", ["trial_id"] + reconstructionColumns,
              "trial_id IN (SELECT id FROM trials WHERE audit_id = ?)"),
            t("utility_runs", version < 3 ? AuditStore.utilityColumnsV1 : AuditStore.utilityColumns, "audit_id = ?"),
            t("recommendations", ["audit_id", "position", "kind", "setting", "band", "text"], "audit_id = ?"),
            t("assessments", key: "audit_id", ["tool_version", "assessment_json"], "audit_id = ?"),
        ]
    }

    /// One row's place and hash.
    struct RowHash: Equatable, Sendable {
        let table: UInt8
        let key: Int64
        let hash: [UInt8]
    }

    /// The hashes of every row of `audit`, in digest order.
    static func rowHashes(_ db: Database, audit: Int64, version: Int) throws -> [RowHash] {
        guard let tables = tables(version: version) else { throw AuditError.input("digest version \(version) is not known to this medpfl") }
        var out: [RowHash] = []
        for (index, table) in tables.enumerated() {
            let rows = try Row.fetchCursor(db, sql: table.rows, arguments: [audit])
            while let row = try rows.next() {
                var enc = Encoder()
                enc.name(table.name)
                let keyValue: Int64 = row[0] ?? -1
                enc.int(keyValue)
                enc.int(Int64(table.columns.count))
                for (i, column) in table.columns.enumerated() {
                    enc.name(column)
                    enc.value(row[i] as DatabaseValue)
                }
                out.append(RowHash(table: UInt8(index), key: keyValue, hash: Array(SHA256.hash(data: enc.bytes))))
            }
        }
        return out
    }

    /// The digest over row hashes and shard digests.
    static func digest(_ rows: [RowHash], shards: [ShardDigest]?, version: Int) throws -> String {
        var h = SHA256()
        h.update(data: Array("medpfl audit digest v\(version)\n".utf8))
        for r in rows {
            var enc = Encoder()
            enc.bytes.append(r.table)
            enc.int(r.key)
            enc.bytes += r.hash
            h.update(data: enc.bytes)
        }
        var tail = Encoder()
        tail.bytes.append(0xFF)
        tail.name(try AuditJSON.encode(shards ?? []))
        h.update(data: tail.bytes)
        return SHA256Digest.hexString(h.finalize())
    }

    /// Row hashes packed for storage: 41 bytes each (table position, key, hash).
    static func pack(_ rows: [RowHash]) -> Data {
        var enc = Encoder()
        for r in rows { enc.bytes.append(r.table); enc.int(r.key); enc.bytes += r.hash }
        return Data(enc.bytes)
    }

    static func unpack(_ data: Data) -> [RowHash]? {
        let b = [UInt8](data)
        guard b.count % 41 == 0 else { return nil }
        return stride(from: 0, to: b.count, by: 41).map { i in
            var k: UInt64 = 0
            for j in 0..<8 { k = k << 8 | UInt64(b[i + 1 + j]) }
            return RowHash(table: b[i], key: Int64(bitPattern: k), hash: Array(b[(i + 9)..<(i + 41)]))
        }
    }

    /// The canonical byte encoding (big-endian lengths and numbers).
    struct Encoder {
        var bytes: [UInt8] = []
        mutating func int(_ v: Int64) { u64(UInt64(bitPattern: v)) }
        mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
        mutating func name(_ s: String) {
            let u = Array(s.utf8)
            let n = UInt32(u.count)
            for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: n >> UInt32(s))) }
            bytes += u
        }
        mutating func value(_ v: DatabaseValue) {
            switch v.storage {
            case .null: bytes.append(0)
            case .int64(let i): bytes.append(1); int(i)
            case .double(let d): bytes.append(2); u64(d.bitPattern)
            case .string(let s): bytes.append(3); let u = Array(s.utf8); u64(UInt64(u.count)); bytes += u
            case .blob(let d): bytes.append(4); u64(UInt64(d.count)); bytes += d
            }
        }
    }
}

/// A shard's digest as recorded in the merged audit's digest.
public struct ShardDigest: Codable, Sendable, Equatable {
    /// The shard log's file name (not its folder).
    public let database: String
    public let audit: Int64
    public let shard: String?
    /// nil for a shard audit finished by a medpfl that wrote no digest.
    public let digest: String?
    public let digestVersion: Int?

    enum CodingKeys: String, CodingKey { case database, audit, shard, digest, digestVersion = "digest_version" }
}

/// The stored digest of a finished audit (a row of `audit_digests`).
public struct AuditDigestRecord: AuditTableRecord, Sendable, Equatable {
    public static let databaseTableName = "audit_digests"
    public let auditID: Int64
    public let version: Int
    /// SHA-256, 64 hex digits.
    public let digest: String
    let rowHashes: Data
    /// The shards' digests of a merged audit.
    public let shards: [ShardDigest]?
    /// Base64 Ed25519 signature over "medpfl audit digest v<version> <digest>", and the base64 public key.
    public let signature: String?
    public let signingKey: String?
    public let computedAt: Date

    enum CodingKeys: String, CodingKey {
        case auditID = "audit_id", version = "digest_version", digest, rowHashes = "row_hashes", shards = "shard_digests"
        case signature, signingKey = "signing_key", computedAt = "computed_at"
    }

    /// The number of rows the digest covers.
    public var rows: Int { rowHashes.count / 41 }

    /// Fingerprint of the signing key ("ed25519:…"), nil when unsigned.
    public var signedBy: String? { signingKey.flatMap(AuditVerifyingKey.init(stored:))?.fingerprint }

    /// "sha256:0f3c…" shortened for text (the full digest is in `--json` and the report).
    public var short: String { "sha256:" + digest.prefix(16) }
}
