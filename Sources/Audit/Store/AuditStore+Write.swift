import Foundation
import GRDB
import SafeIO

/// What the log records about an audit when it starts.
public struct NewAudit: Sendable {
    public var site: String
    public var model: String
    public var modelVersion: String
    public var modelSHA256: String
    public var configJSON: String
    public var configSHA256: String
    public var toolVersion: String
    public var seed: UInt64
    public var commandLine: String
    public var definitionPath: String?
    public var shard: String?
    public var trialsPlanned: Int
    public var gridSize: Int

    public init(site: String, model: String, modelVersion: String, modelSHA256: String, configJSON: String,
                configSHA256: String, toolVersion: String, seed: UInt64, commandLine: String, definitionPath: String?,
                shard: String?, trialsPlanned: Int, gridSize: Int) {
        self.site = site; self.model = model; self.modelVersion = modelVersion; self.modelSHA256 = modelSHA256
        self.configJSON = configJSON; self.configSHA256 = configSHA256; self.toolVersion = toolVersion; self.seed = seed
        self.commandLine = commandLine; self.definitionPath = definitionPath; self.shard = shard
        self.trialsPlanned = trialsPlanned; self.gridSize = gridSize
    }
}

extension AuditStore {
    /// Columns of `trials` besides `id` and `audit_id`, in insertion order: those of schema v1 (covered by digest
    /// version 1), then those added since (digest version 2).
    /// `utility_runs` columns (after `id`) as schema v1 had them, and now (schema v6 adds `utility_evidence`).
    static let utilityColumnsV1 = ["audit_id", "defence", "accuracy", "baseline_accuracy", "accuracy_drop", "rounds", "clients", "seed",
                                   "seconds", "details", "recorded_at"]
    static let utilityColumns = utilityColumnsV1 + ["utility_evidence"]
    static let trialColumns = trialColumnsV1 + ["leakage_evidence", "late_loss_drop"]
    static let reconstructionColumns = reconstructionColumnsV1 + ["reid_rank_ssim", "reid_rank_features", "reid_pool", "prior_ssim"]
    static let trialColumnsV1 = ["trial_key", "grid_index", "sample_index", "image_paths", "image_sha256", "attack",
                               "attack_kind", "attack_config", "defence", "defence_effect", "snr", "fraction_changed",
                               "epsilon", "seed", "true_labels", "recovered_labels", "applicable", "note", "images",
                               "successes", "labels_recovered", "mse", "psnr", "ssim", "max_ssim", "success",
                               "iterations", "final_loss", "seconds", "recorded_at"]
    static let reconstructionColumnsV1 = ["image_index", "reconstruction_index", "true_label", "recovered_label", "mse",
                                        "psnr", "ssim", "success", "reconstruction_png", "original_png"]

    /// Records a new audit with status `running` and returns its id.
    public func beginAudit(_ a: NewAudit, startedAt: Date = Date()) throws -> Int64 {
        try write { db in
            try db.execute(sql: """
                INSERT INTO audits (site, model, model_version, model_sha256, config_json, config_sha256, tool_version, seed,
                    command_line, definition_path, shard, trials_planned, grid_size, started_at, status, pid, host, process)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)
                """, arguments: [a.site, a.model, a.modelVersion, a.modelSHA256, a.configJSON, a.configSHA256, a.toolVersion,
                                 String(a.seed), a.commandLine, a.definitionPath, a.shard, a.trialsPlanned, a.gridSize, startedAt,
                                 Int(getpid()), ProcessInfo.processInfo.hostName, ProcessIdentity.current.token])
            return db.lastInsertedRowID
        }
    }

    /// Records a finished trial and its reconstructions in one transaction. Returns false (and writes
    /// nothing) when the audit already holds a trial with this key.
    @discardableResult
    public func record(_ o: TrialOutcome, audit: Int64) throws -> Bool {
        let recordedAt = Date()
        return try write { db in
            var row = TrialRecord(o, audit: audit, recordedAt: recordedAt)
            try requireUnfinished(db, audit)
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM trials WHERE audit_id = ? AND trial_key = ?", arguments: [audit, o.spec.key]) == true {
                return false
            }
            try row.insert(db)
            for im in o.images {
                var r = ReconstructionRecord(im, trial: row.id)
                try r.insert(db)
            }
            return true
        }
    }

    /// Records one utility run; false when the audit already has one for this defence.
    @discardableResult
    public func record(utility u: UtilityRunRecord) throws -> Bool {
        try write { db in
            try requireUnfinished(db, u.auditID)
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM utility_runs WHERE audit_id = ? AND defence = ?", arguments: [u.auditID, u.defence]) == true {
                return false
            }
            var row = u
            row.recordedAt = Date()
            try row.insert(db)
            return true
        }
    }

    /// Sets an unfinished audit's status (`running`, `interrupted` or `failed`) with an optional note.
    public func setStatus(_ status: AuditStatus, audit: Int64, note: String? = nil) throws {
        precondition(status != .finished, "use finish(audit:recommendations:)")
        try write { db in
            try requireUnfinished(db, audit)
            try db.execute(sql: "UPDATE audits SET status = ?, status_note = ? WHERE id = ?", arguments: [status.rawValue, note, audit])
        }
    }

    /// Marks an unfinished audit as run by this process (status `running`), e.g. when resuming it.
    public func claim(audit: Int64, commandLine: String) throws {
        try write { db in
            try requireUnfinished(db, audit)
            try db.execute(sql: "UPDATE audits SET status = 'running', status_note = NULL, pid = ?, host = ?, process = ?, command_line = command_line || char(10) || ? WHERE id = ?",
                           arguments: [Int(getpid()), ProcessInfo.processInfo.hostName, ProcessIdentity.current.token, commandLine, audit])
        }
    }

    /// Assesses a whole audit whose trials are all recorded, stores that assessment and its verdict lines, and
    /// marks the audit finished (one transaction); returns the stored assessment.
    public func finishAssessed(audit: Int64, toolVersion: String, shards: [ShardDigest]? = nil) throws -> RiskReport {
        var report = try assessNow(audit: audit)
        try finish(audit: audit, recommendations: report.records, assessment: report, toolVersion: toolVersion, shards: shards)
        report.provenance = .stored
        return report
    }

    /// Writes the verdict (and, for a whole audit, its assessment as data), marks the audit finished and
    /// writes its digest (`AuditDigest`, signed when the store has a signing key; `shards`: the digests of
    /// the shard audits a merged audit was made from), in one transaction. From then on it is immutable.
    public func finish(audit: Int64, recommendations: [RecommendationRecord], assessment: RiskReport? = nil,
                       toolVersion: String = "", shards: [ShardDigest]? = nil, at date: Date = Date()) throws {
        var stored = assessment
        stored?.provenance = nil
        let json = try stored.map { try AuditJSON.encode($0) }
        try write { db in
            try requireUnfinished(db, audit)
            if let j = json {
                try db.execute(sql: "INSERT OR ABORT INTO assessments (audit_id, tool_version, assessment_json) VALUES (?, ?, ?)",
                               arguments: [audit, toolVersion, j])
            }
            try db.execute(sql: "DELETE FROM recommendations WHERE audit_id = ?", arguments: [audit])
            for r in recommendations {
                var row = r
                row.auditID = audit
                try row.insert(db)
            }
            try db.execute(sql: "UPDATE audits SET status = 'finished', finished_at = ?, status_note = NULL WHERE id = ?", arguments: [date, audit])
            try writeDigest(db, audit: audit, shards: shards, at: date)
        }
    }
}

extension AuditStore {
    /// Computes and stores the digest of a just-finished audit (inside the finishing transaction).
    func writeDigest(_ db: Database, audit: Int64, shards: [ShardDigest]?, at date: Date) throws {
        let version = AuditDigest.currentVersion
        let rows = try AuditDigest.rowHashes(db, audit: audit, version: version)
        let digest = try AuditDigest.digest(rows, shards: shards, version: version)
        let signature = try signingKey.map { try $0.sign(digest: digest, version: version) }
        var record = AuditDigestRecord(auditID: audit, version: version, digest: digest, rowHashes: AuditDigest.pack(rows),
                                       shards: shards, signature: signature, signingKey: signingKey?.publicKeyText,
                                       computedAt: date)
        try record.insert(db)
    }
}
