import Foundation
import GRDB

/// Read API of the audit log (used by `history`, `show`, `compare` and the Report layer).
extension AuditStore {
    /// Every audit, oldest first; only those of `site` when given.
    public func audits(site: String? = nil) throws -> [AuditRecord] {
        try read { db in
            if let s = site { return try fetchRecords(db, AuditRecord.self, sql: "SELECT * FROM audits WHERE site = ? ORDER BY started_at, id", arguments: [s]) }
            return try fetchRecords(db, AuditRecord.self, sql: "SELECT * FROM audits ORDER BY started_at, id")
        }
    }

    /// The audit with this id, or nil.
    public func audit(id: Int64) throws -> AuditRecord? {
        try read { db in try fetchRecords(db, AuditRecord.self, sql: "SELECT * FROM audits WHERE id = ?", arguments: [id]).first }
    }

    /// The audit with this id; a bad-input error naming the log when there is none.
    public func requireAudit(id: Int64) throws -> AuditRecord {
        guard let a = try audit(id: id) else { throw AuditError.input("no audit \(id) in \(path)") }
        return a
    }

    /// The latest finished audit of `site` that started before `date` (for "since last audit" comparisons).
    public func previousAudit(site: String, before date: Date) throws -> AuditRecord? {
        try read { db in
            try fetchRecords(db, AuditRecord.self, sql: """
                SELECT * FROM audits WHERE site = ? AND status = 'finished' AND started_at < ? ORDER BY started_at DESC, id DESC LIMIT 1
                """, arguments: [site, date]).first
        }
    }

    /// Unfinished audits with this configuration (and shard), newest first: candidates for `--resume`.
    public func unfinishedAudits(configSHA256: String, shard: String?) throws -> [AuditRecord] {
        try read { db in
            try fetchRecords(db, AuditRecord.self, sql: """
                SELECT * FROM audits WHERE config_sha256 = ? AND status != 'finished' AND shard IS ? ORDER BY started_at DESC, id DESC
                """, arguments: [configSHA256, shard])
        }
    }

    /// Every trial of an audit in grid order.
    public func trials(audit: Int64) throws -> [TrialRecord] {
        try read { db in try fetchRecords(db, TrialRecord.self, sql: "SELECT * FROM trials WHERE audit_id = ? ORDER BY grid_index", arguments: [audit]) }
    }

    /// Keys of the trials an audit has recorded.
    public func trialKeys(audit: Int64) throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT trial_key FROM trials WHERE audit_id = ?", arguments: [audit])) }
    }

    /// Number of trials an audit has recorded.
    public func trialCount(audit: Int64) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trials WHERE audit_id = ?", arguments: [audit]) ?? 0 }
    }

    /// The reconstructions of one trial, by image index.
    public func reconstructions(trial: Int64) throws -> [ReconstructionRecord] {
        try read { db in
            try fetchRecords(db, ReconstructionRecord.self, sql: "SELECT * FROM reconstructions WHERE trial_id = ? ORDER BY image_index", arguments: [trial])
        }
    }

    /// The reconstructions of an audit, optionally only for one defence setting and/or attack, in grid order.
    public func reconstructions(audit: Int64, defence: String? = nil, attack: String? = nil) throws -> [ReconstructionRecord] {
        try read { db in
            try fetchRecords(db, ReconstructionRecord.self, sql: """
                SELECT r.* FROM reconstructions r JOIN trials t ON r.trial_id = t.id
                WHERE t.audit_id = ? AND (? IS NULL OR t.defence = ?) AND (? IS NULL OR t.attack = ?)
                ORDER BY t.grid_index, r.image_index
                """, arguments: [audit, defence, defence, attack, attack])
        }
    }

    /// Utility runs of an audit.
    public func utilityRuns(audit: Int64) throws -> [UtilityRunRecord] {
        try read { db in try fetchRecords(db, UtilityRunRecord.self, sql: "SELECT * FROM utility_runs WHERE audit_id = ? ORDER BY id", arguments: [audit]) }
    }

    /// The verdict lines written when the audit finished (empty while unfinished).
    public func recommendations(audit: Int64) throws -> [RecommendationRecord] {
        try read { db in
            try fetchRecords(db, RecommendationRecord.self, sql: "SELECT * FROM recommendations WHERE audit_id = ? ORDER BY position", arguments: [audit])
        }
    }

    /// The assessment of an audit: the one stored when it finished, else (an unfinished audit, or one
    /// finished by a medpfl that stored none) assessed now from its recorded trials and utility runs with the
    /// rules in its recorded configuration. `provenance` says which.
    public func assessment(audit: Int64) throws -> RiskReport {
        let a = try requireAudit(id: audit)
        if a.status == .finished, let json = try storedAssessment(audit: audit) {
            var r: RiskReport
            do { r = try AuditJSON.decode(RiskReport.self, json) } catch {
                throw AuditError.store("audit log \(path): assessments row \(audit), column assessment_json cannot be read (\(error))")
            }
            r.provenance = .stored
            return r
        }
        var r = try assessNow(a)
        r.provenance = a.status == .finished ? .assessedNow : .unfinished
        return r
    }

    /// The stored assessment's JSON, nil when there is none (or the log predates stored assessments).
    func storedAssessment(audit: Int64) throws -> String? {
        try read { db in
            guard try db.tableExists("assessments") else { return nil }
            return try String.fetchOne(db, sql: "SELECT assessment_json FROM assessments WHERE audit_id = ?", arguments: [audit])
        }
    }

    /// Assesses an audit from its recorded trials and utility runs (see `RiskAssessment`).
    public func assessNow(audit: Int64) throws -> RiskReport { try assessNow(try requireAudit(id: audit)) }

    func assessNow(_ a: AuditRecord) throws -> RiskReport {
        let audit = a.id
        let config: ResolvedConfig
        do { config = try a.config() } catch { throw AuditError.store("audit \(audit): its recorded configuration cannot be read (\(error))") }
        return RiskAssessment.assess(trials: try trials(audit: audit).map(TrialSummary.init),
                                     utility: try utilityRuns(audit: audit), definition: config.definition)
    }
}
