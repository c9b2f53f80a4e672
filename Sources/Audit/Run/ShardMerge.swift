import Foundation
import GRDB

/// Merges the logs of a sharded audit (`medpfl audit FILE --shard K/N --db shard-K.sqlite`) into one audit.
public enum ShardMerge {
    /// What a merge did.
    public struct Result: Sendable {
        public let auditID: Int64
        /// Trials copied, and trials skipped because the merged audit already had them.
        public let added: Int
        public let skipped: Int
        public let recorded: Int
        public let gridSize: Int
        /// The merged audit's status: finished when the grid is complete, interrupted otherwise.
        public let status: AuditStatus
        public let report: RiskReport?
    }

    /// Copies every trial, reconstruction and utility run of `shards` into `out`, without ever
    /// duplicating a trial. Every shard log must hold audits of the same configurations (one, or one per
    /// document of a multi-audit file): shards of different audits are refused. Each configuration is
    /// merged into an unfinished audit of that configuration already in `out`, or into a new one.
    public static func merge(into out: AuditStore, shards: [String], commandLine: String, toolVersion: String) throws -> [Result] {
        guard !shards.isEmpty else { throw AuditError.input("give at least one shard database to merge") }
        defer { out.checkpoint() }
        let outPath = URL(fileURLWithPath: out.path).standardizedFileURL.path
        var sources: [(path: String, audits: [AuditRecord])] = []
        for p in shards {
            guard URL(fileURLWithPath: p).standardizedFileURL.path != outPath else { throw AuditError.input("\(p) is the output database itself") }
            let store = try AuditStore(readingAt: p)
            let audits = try store.audits()
            guard !audits.isEmpty else { throw AuditError.input("\(p) holds no audit") }
            sources.append((p, audits))
        }
        let configs = Set(sources[0].audits.map(\.configSHA256))
        for (p, audits) in sources where Set(audits.map(\.configSHA256)) != configs {
            let mine = Set(audits.map(\.configSHA256))
            let odd = audits.first { !configs.contains($0.configSHA256) } ?? sources[0].audits.first { !mine.contains($0.configSHA256) }!
            throw AuditError.input("refusing to merge: \(p) and \(sources[0].path) hold different audits (audit \(odd.id): \(odd.site), "
                                   + "model \(odd.model) \(odd.modelVersion), configuration \(odd.configSHA256.prefix(12)) is not in both)")
        }
        // One merged audit per configuration, in the order the first shard lists them.
        var order: [String] = []
        for a in sources[0].audits where !order.contains(a.configSHA256) { order.append(a.configSHA256) }
        return try order.map { config in
            try mergeOne(into: out, sources: sources.map { ($0.path, $0.audits.filter { $0.configSHA256 == config }) },
                         commandLine: commandLine, toolVersion: toolVersion)
        }
    }

    /// Merges the audits of one configuration.
    static func mergeOne(into out: AuditStore, sources: [(path: String, audits: [AuditRecord])], commandLine: String,
                         toolVersion: String) throws -> Result {
        let first = sources[0].audits[0]
        let auditID = try target(out, like: first, started: sources.flatMap(\.audits).map(\.startedAt).min()!,
                                 commandLine: commandLine, toolVersion: toolVersion)
        let before = try out.trialCount(audit: auditID)
        var copied = 0, offered = 0
        for (p, audits) in sources {
            for a in audits {
                let (added, total) = try copy(from: p, audit: a.id, into: out, audit: auditID)
                copied += added
                offered += total
            }
        }
        let recorded = try out.trialCount(audit: auditID)
        let grid = first.gridSize
        let definition = try? first.config().definition
        let utilityNeeded = definition?.utility == nil ? 0 : definition!.defences.count
        if recorded >= grid, try out.utilityRuns(audit: auditID).count >= utilityNeeded {
            let report = try out.finishAssessed(audit: auditID, toolVersion: toolVersion)
            return Result(auditID: auditID, added: recorded - before, skipped: offered - copied, recorded: recorded, gridSize: grid,
                          status: .finished, report: report)
        }
        try out.setStatus(.interrupted, audit: auditID, note: "merged \(recorded) of \(grid) trials; merge the missing shards or resume")
        return Result(auditID: auditID, added: recorded - before, skipped: offered - copied, recorded: recorded, gridSize: grid,
                      status: .interrupted, report: nil)
    }

    /// The unfinished whole-grid audit of this configuration in `out`, or a new one copied from `like`.
    static func target(_ out: AuditStore, like a: AuditRecord, started: Date, commandLine: String, toolVersion: String) throws -> Int64 {
        if let done = try out.audits().first(where: { $0.configSHA256 == a.configSHA256 && $0.shard == nil && $0.status == .finished }) {
            throw AuditError.input("\(out.path) already holds finished audit \(done.id) of this configuration (\(a.site), model \(a.model) "
                                   + "\(a.modelVersion)); its trials would be duplicates, so nothing was merged")
        }
        if let existing = try out.unfinishedAudits(configSHA256: a.configSHA256, shard: nil).first {
            try out.claim(audit: existing.id, commandLine: commandLine)
            return existing.id
        }
        return try out.beginAudit(NewAudit(site: a.site, model: a.model, modelVersion: a.modelVersion, modelSHA256: a.modelSHA256,
                                           configJSON: a.configJSON, configSHA256: a.configSHA256, toolVersion: a.toolVersion,
                                           seed: a.seed, commandLine: commandLine, definitionPath: a.definitionPath, shard: nil,
                                           trialsPlanned: a.gridSize, gridSize: a.gridSize), startedAt: started)
    }

    /// Copies one source audit's rows in one transaction; returns the trials copied and the trials it holds.
    static func copy(from path: String, audit source: Int64, into out: AuditStore, audit target: Int64) throws -> (Int, Int) {
        let cols = AuditStore.trialColumns.joined(separator: ", ")
        let rcols = AuditStore.reconstructionColumns.joined(separator: ", ")
        let rsel = AuditStore.reconstructionColumns.map { "r.\($0)" }.joined(separator: ", ")
        do {
            return try out.pool.writeWithoutTransaction { db -> (Int, Int) in
                try db.execute(sql: "ATTACH DATABASE ? AS shard", arguments: [path])
                defer { try? db.execute(sql: "DETACH DATABASE shard") }
                var added = 0, total = 0
                try db.inTransaction(.immediate) {
                    total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shard.trials WHERE audit_id = ?", arguments: [source]) ?? 0
                    try out.requireUnfinished(db, target)
                    try db.execute(sql: """
                        INSERT INTO trials (audit_id, \(cols)) SELECT ?, \(cols) FROM shard.trials s
                        WHERE s.audit_id = ? AND NOT EXISTS (SELECT 1 FROM trials t WHERE t.audit_id = ? AND t.trial_key = s.trial_key)
                        """, arguments: [target, source, target])
                    added = db.changesCount
                    try db.execute(sql: """
                        INSERT INTO reconstructions (trial_id, \(rcols)) SELECT t.id, \(rsel)
                        FROM shard.reconstructions r JOIN shard.trials s ON r.trial_id = s.id
                        JOIN trials t ON t.audit_id = ? AND t.trial_key = s.trial_key
                        WHERE s.audit_id = ? AND NOT EXISTS (SELECT 1 FROM reconstructions x WHERE x.trial_id = t.id AND x.image_index = r.image_index)
                        """, arguments: [target, source])
                    try db.execute(sql: """
                        INSERT INTO utility_runs (audit_id, defence, accuracy, baseline_accuracy, accuracy_drop, rounds, clients, seed, seconds, details, recorded_at)
                        SELECT ?, defence, accuracy, baseline_accuracy, accuracy_drop, rounds, clients, seed, seconds, details, recorded_at
                        FROM shard.utility_runs u WHERE u.audit_id = ?
                        AND NOT EXISTS (SELECT 1 FROM utility_runs x WHERE x.audit_id = ? AND x.defence = u.defence)
                        """, arguments: [target, source, target])
                    return .commit
                }
                return (added, total)
            }
        } catch let e as AuditError { throw e } catch {
            throw AuditError.store("merging \(path): \(AuditStore.describe(error))")
        }
    }
}
