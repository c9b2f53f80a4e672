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

    /// Shard logs checked and ready to merge.
    public struct Sources: Sendable {
        let logs: [(path: String, audits: [AuditRecord], digests: [Int64: ShardDigest])]
    }

    /// Opens every shard log read-only and checks, before anything is written anywhere, that they hold audits
    /// of the same configurations (one, or one per document of a multi-audit file), that every finished shard
    /// audit is intact (its digest verifies: a shard changed after it finished is refused), and that `outPath`
    /// is not one of them and holds no finished audit of these configurations (its trials would be duplicates).
    public static func prepare(shards: [String], outPath: String) throws -> Sources {
        guard !shards.isEmpty else { throw AuditError.input("give at least one shard database to merge") }
        let outFull = URL(fileURLWithPath: outPath).standardizedFileURL.path
        var logs: [(path: String, audits: [AuditRecord], digests: [Int64: ShardDigest])] = []
        for p in shards {
            guard URL(fileURLWithPath: p).standardizedFileURL.path != outFull else { throw AuditError.input("\(p) is the output database itself") }
            let store = try AuditStore(readingAt: p)
            let audits = try store.audits()
            guard !audits.isEmpty else { throw AuditError.input("\(p) holds no audit") }
            var digests: [Int64: ShardDigest] = [:]
            for a in audits where a.status == .finished {
                let v = try store.verify(audit: a.id)
                if v.outcome == .changed {
                    throw AuditError.input("refusing to merge \(p): audit \(a.id) was changed after it finished (\(v.problem ?? "digest differs"))")
                }
                digests[a.id] = ShardDigest(database: URL(fileURLWithPath: p).lastPathComponent, audit: a.id, shard: a.shard,
                                            digest: v.digest, digestVersion: v.digestVersion)
            }
            logs.append((p, audits, digests))
        }
        let configs = Set(logs[0].audits.map(\.configSHA256))
        for (p, audits, _) in logs where Set(audits.map(\.configSHA256)) != configs {
            let mine = Set(audits.map(\.configSHA256))
            let odd = audits.first { !configs.contains($0.configSHA256) } ?? logs[0].audits.first { !mine.contains($0.configSHA256) }!
            throw AuditError.input("refusing to merge: \(p) and \(logs[0].path) hold different audits (audit \(odd.id): \(odd.site), "
                                   + "model \(odd.model) \(odd.modelVersion), configuration \(odd.configSHA256.prefix(12)) is not in both)")
        }
        if FileManager.default.fileExists(atPath: outPath) {
            let out = try AuditStore(readingAt: outPath)
            for a in logs[0].audits {
                if let done = try out.audits().first(where: { $0.configSHA256 == a.configSHA256 && $0.shard == nil && $0.status == .finished }) {
                    throw AuditError.input("\(outPath) already holds finished audit \(done.id) of this configuration (\(a.site), model \(a.model) "
                                           + "\(a.modelVersion)); its trials would be duplicates, so nothing was merged")
                }
            }
        }
        return Sources(logs: logs)
    }

    /// Copies every trial, reconstruction and utility run of the prepared shard logs into `out`, without
    /// ever duplicating a trial. Each configuration is merged into an unfinished audit of that configuration
    /// already in `out`, or into a new one; a complete one is finished with a digest that records the shards'.
    public static func merge(into out: AuditStore, sources: Sources, commandLine: String, toolVersion: String) throws -> [Result] {
        defer { out.checkpoint() }
        let logs = sources.logs
        // One merged audit per configuration, in the order the first shard lists them.
        var order: [String] = []
        for a in logs[0].audits where !order.contains(a.configSHA256) { order.append(a.configSHA256) }
        return try order.map { config in
            try mergeOne(into: out, sources: logs.map { ($0.path, $0.audits.filter { $0.configSHA256 == config }, $0.digests) },
                         commandLine: commandLine, toolVersion: toolVersion)
        }
    }

    /// `prepare` and `merge` in one (for a caller that has the output store open already).
    public static func merge(into out: AuditStore, shards: [String], commandLine: String, toolVersion: String) throws -> [Result] {
        try merge(into: out, sources: try prepare(shards: shards, outPath: out.path), commandLine: commandLine, toolVersion: toolVersion)
    }

    /// Merges the audits of one configuration.
    static func mergeOne(into out: AuditStore, sources: [(path: String, audits: [AuditRecord], digests: [Int64: ShardDigest])],
                         commandLine: String, toolVersion: String) throws -> Result {
        let first = sources[0].audits[0]
        let auditID = try target(out, like: first, started: sources.flatMap(\.audits).map(\.startedAt).min()!,
                                 commandLine: commandLine, toolVersion: toolVersion)
        let before = try out.trialCount(audit: auditID)
        var copied = 0, offered = 0
        for (p, audits, _) in sources {
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
            let shards = sources.flatMap { src in src.audits.map { a in
                src.digests[a.id] ?? ShardDigest(database: URL(fileURLWithPath: src.path).lastPathComponent, audit: a.id, shard: a.shard,
                                                 digest: nil, digestVersion: nil)
            } }
            let report = try out.finishAssessed(audit: auditID, toolVersion: toolVersion, shards: shards)
            return Result(auditID: auditID, added: recorded - before, skipped: offered - copied, recorded: recorded, gridSize: grid,
                          status: .finished, report: report)
        }
        try out.setStatus(.interrupted, audit: auditID, note: "merged \(recorded) of \(grid) trials; merge the missing shards or resume")
        return Result(auditID: auditID, added: recorded - before, skipped: offered - copied, recorded: recorded, gridSize: grid,
                      status: .interrupted, report: nil)
    }

    /// The unfinished whole-grid audit of this configuration in `out`, or a new one copied from `like`.
    static func target(_ out: AuditStore, like a: AuditRecord, started: Date, commandLine: String, toolVersion: String) throws -> Int64 {
        // (`prepare` has refused an output that already holds a finished audit of this configuration.)
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
    /// The shard log is read through a read-only connection (never attached to the writer): merging changes
    /// nothing in a shard, and values are copied exactly as stored.
    static func copy(from path: String, audit source: Int64, into out: AuditStore, audit target: Int64) throws -> (Int, Int) {
        let shard = try AuditStore(readingAt: path)
        // A shard written by an older medpfl lacks the columns added since: they are copied as NULL.
        let (shardT, shardR, shardU) = try shard.read { db in
            (Set(try db.columns(in: "trials").map(\.name)), Set(try db.columns(in: "reconstructions").map(\.name)),
             Set(try db.columns(in: "utility_runs").map(\.name)))
        }
        let tcols = AuditStore.trialColumns.filter(shardT.contains), rcols = AuditStore.reconstructionColumns.filter(shardR.contains)
        let ucols = AuditStore.utilityColumns.filter { $0 != "audit_id" && shardU.contains($0) }
        func list(_ c: [String]) -> String { c.map { "\"\($0)\"" }.joined(separator: ", ") }
        func marks(_ n: Int) -> String { Array(repeating: "?", count: n).joined(separator: ", ") }
        do {
            let trials = try shard.read { db in
                try Row.fetchAll(db, sql: "SELECT id, \(list(tcols)) FROM trials WHERE audit_id = ? ORDER BY id", arguments: [source])
            }
            let utility = try shard.read { db in
                try Row.fetchAll(db, sql: "SELECT \(list(ucols)) FROM utility_runs WHERE audit_id = ? ORDER BY id", arguments: [source])
            }
            return try out.write { db -> (Int, Int) in
                try out.requireUnfinished(db, target)
                var added = 0
                for t in trials {
                    let key: String = t["trial_key"]
                    if try Bool.fetchOne(db, sql: "SELECT 1 FROM trials WHERE audit_id = ? AND trial_key = ?", arguments: [target, key]) == true { continue }
                    let values: [DatabaseValue] = [target.databaseValue] + tcols.map { t[$0] as DatabaseValue }
                    try db.execute(sql: "INSERT INTO trials (audit_id, \(list(tcols))) VALUES (\(marks(values.count)))",
                                   arguments: StatementArguments(values))
                    let newID = db.lastInsertedRowID
                    let sourceID: Int64 = t["id"]
                    let recon = try shard.read { sdb in
                        try Row.fetchAll(sdb, sql: "SELECT \(list(rcols)) FROM reconstructions WHERE trial_id = ? ORDER BY id", arguments: [sourceID])
                    }
                    for r in recon {
                        let rv: [DatabaseValue] = [newID.databaseValue] + rcols.map { r[$0] as DatabaseValue }
                        try db.execute(sql: "INSERT INTO reconstructions (trial_id, \(list(rcols))) VALUES (\(marks(rv.count)))",
                                       arguments: StatementArguments(rv))
                    }
                    added += 1
                }
                for u in utility {
                    let defence: String = u["defence"]
                    if try Bool.fetchOne(db, sql: "SELECT 1 FROM utility_runs WHERE audit_id = ? AND defence = ?", arguments: [target, defence]) == true { continue }
                    let uv: [DatabaseValue] = [target.databaseValue] + ucols.map { u[$0] as DatabaseValue }
                    try db.execute(sql: "INSERT INTO utility_runs (audit_id, \(list(ucols))) VALUES (\(marks(uv.count)))",
                                   arguments: StatementArguments(uv))
                }
                return (added, trials.count)
            }
        } catch let e as AuditError { throw e } catch {
            throw AuditError.store("merging \(path): \(AuditStore.describe(error))")
        }
    }
}
