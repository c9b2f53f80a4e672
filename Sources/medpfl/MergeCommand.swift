import ArgumentParser
import Audit
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the audit logs of a sharded audit into one audit (never duplicating a trial).",
        discussion: """
        Every shard must hold audits of the same configuration (same file, model weights and images); \
        anything else is refused. The merged audit is finished when every trial of the grid is present; \
        otherwise it is left interrupted and can be completed with more shards or with --resume.
        """)

    @Argument(help: "The merged audit log (created if missing).") var out: String
    @Argument(help: "The shard audit logs.") var shards: [String]
    @Option(help: "Ed25519 private key (PEM or raw) that signs the merged audit's digest.") var signKey: String?
    @Flag(help: "Print JSON on stdout.") var json = false

    struct Output: Encodable {
        let audit: Int64, database: String, status: String, trialsAdded: Int, trialsAlreadyPresent: Int
        let trialsRecorded: Int, gridSize: Int, siteRisk: String?, recommendation: String?
    }

    func validate() throws {
        if shards.isEmpty { throw ValidationError("give the shard databases to merge after the output database") }
    }

    func run() throws {
        for s in shards where !FileManager.default.fileExists(atPath: s) { throw InputError("shard database \(s) does not exist") }
        let key = try signKey.map { k in try auditInput { try AuditSigningKey(file: k) } }
        // Everything is checked before the output log is opened: a refused merge writes nothing anywhere.
        let sources = try auditInput { try ShardMerge.prepare(shards: shards, outPath: out) }
        let store = try auditInput { try AuditStore(path: out, signingKey: key) }
        let results = try auditInput {
            try ShardMerge.merge(into: store, sources: sources, commandLine: CommandLine.arguments.joined(separator: " "), toolVersion: medpflVersion)
        }
        let outputs = results.map { r in
            Output(audit: r.auditID, database: out, status: r.status.rawValue, trialsAdded: r.added, trialsAlreadyPresent: r.skipped,
                   trialsRecorded: r.recorded, gridSize: r.gridSize, siteRisk: r.report?.siteRisk?.rawValue,
                   recommendation: r.report?.recommendation)
        }
        if json { if outputs.count == 1 { try printAuditJSON(outputs[0]) } else { try printAuditJSON(outputs) }; return }
        for r in results {
            print("Merged \(shards.count) shard log\(shards.count == 1 ? "" : "s") into audit \(r.auditID) of \(out): \(r.added) trials added, "
                  + "\(r.skipped) already present; \(r.recorded) of \(r.gridSize) trials recorded.")
            if let rep = r.report {
                print(rep.siteSummary)
                print(rep.recommendation)
            } else {
                print("The grid is not complete yet: merge the missing shards, or finish it with medpfl audit FILE --db \(out) --resume \(r.auditID).")
            }
        }
    }
}
