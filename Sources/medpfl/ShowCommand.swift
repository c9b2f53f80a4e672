import ArgumentParser
import Attacks
import Audit
import Foundation
import NN

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one audit: what was tested, the site's risk, the recommendation and every result.")

    @Argument(help: "Audit id (see `medpfl history`).") var id: Int64
    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Flag(help: "Print JSON on stdout (with every trial).") var json = false
    @Flag(help: "Replace image file names with stable pseudonyms (image-01, ...) and the data paths with (redacted): output to share. The log keeps the names.")
    var redact = false

    struct Output: Encodable {
        let audit: AuditRecord, config: ResolvedConfig, assessment: RiskReport, recommendations: [RecommendationRecord]
        let utilityRuns: [UtilityRunRecord], trials: [TrialRecord], digest: Digest?
    }

    /// The stored digest as `show --json` prints it (`medpfl verify` recomputes it).
    struct Digest: Encodable {
        let version: Int, sha256: String, rows: Int, signedBy: String?, shards: [ShardDigest]?
        init(_ d: AuditDigestRecord) { version = d.version; sha256 = d.digest; rows = d.rows; signedBy = d.signedBy; shards = d.shards }
    }

    func run() throws {
        let store = try auditInput { try AuditStore(readingAt: db) }
        let a = try auditInput { try store.requireAudit(id: id) }
        let report = try store.assessment(audit: id)
        let trials = try store.trials(audit: id)
        let digest = try store.digest(audit: id)
        let redaction = redact ? Redaction(config: try a.config()) : nil
        if json {
            let out = Output(audit: a, config: try a.config(), assessment: report, recommendations: try store.recommendations(audit: id),
                             utilityRuns: try store.utilityRuns(audit: id), trials: trials, digest: digest.map(Digest.init))
            if let r = redaction {
                FileHandle.standardOutput.write(try r.applyJSON(try auditJSONData(out)))
                FileHandle.standardOutput.write(Data("\n".utf8))
            } else {
                try printAuditJSON(out)
            }
            return
        }
        let d = try a.config().definition
        print(redaction.map { $0.apply(describe(a, d, recorded: trials.count, digest: digest)) } ?? describe(a, d, recorded: trials.count, digest: digest))
        print("")
        if a.shard != nil {
            print("This audit is one shard of a larger grid; merge the shards (medpfl merge) for the verdict on the site.")
        } else {
            if a.status != .finished {
                print("PARTIAL RESULTS: \(trials.count) of \(a.trialsPlanned) trials are recorded; the verdict below covers only those.")
                print("")
            }
            print("OVERALL RISK: \(report.siteRisk?.rawValue ?? "UNKNOWN")")
            print(report.siteSummary)
            if let p = report.provenance { print(p.inWords) }
            if let threats = report.threats, !threats.isEmpty {
                print("")
                print("BY THREAT MODEL")
                for t in threats { print("- " + t.summary(declared: report.declared)) }
            }
            print("")
            print("RECOMMENDATION")
            print(report.recommendation)
        }
        print("")
        print("RESULTS BY DEFENCE SETTING (all samples together)")
        var rows: [[String]] = []
        for s in report.settings {
            for at in s.attacks {
                let used = at.applicableTrials > 0
                rows.append([s.defence, at.attack, used ? pct(at.asr) : "n/a", used ? f2(at.meanSSIM) : "n/a",
                             used ? f2(at.maxSSIM) : "n/a", used ? pct(at.labelLeakage) : "n/a", at.band?.rawValue ?? "n/a",
                             s.accuracyDrop.map { d in String(format: "%.1f", d * 100)
                                 + (s.pairedDrop?.interval.map { String(format: " [%.1f, %.1f]", $0.lowerBound * 100, $0.upperBound * 100) } ?? "")
                                 + (s.divergence != nil ? " diverged" : "") } ?? "-"])
            }
        }
        print(textTable(header: ["Defence", "Attack", "Rebuilt", "Mean SSIM", "Best SSIM", "Labels", "Risk", "Acc. drop (pts) [95% CI]"], rows: rows))
        print("")
        print("VERDICT PER SETTING")
        for s in report.settings {
            print("- " + s.verdict[0])
            for line in s.verdict.dropFirst() { print("    " + line) }
        }
        print("")
        let t = report.thresholds
        print("How to read this: an image counts as rebuilt when its reconstruction reaches SSIM \(f2(t.successSSIM)) "
              + "(1 = identical). A setting is HIGH risk when any image is rebuilt or the best SSIM reaches \(f2(t.highSSIM)); "
              + "MEDIUM when the best SSIM reaches \(f2(t.mediumSSIM)) or more than \(pct(t.labelLeakage)) of labels are recovered; "
              + "LOW otherwise. Reconstructions are never chosen by looking at the originals.")
    }

    func describe(_ a: AuditRecord, _ d: AuditDefinition, recorded: Int, digest: AuditDigestRecord?) -> String {
        var lines: [(String, String)] = []
        var status = "\(a.statusText) (started \(timestampText(a.startedAt)) UTC"
        if let f = a.finishedAt { status += ", finished \(timestampText(f)) UTC" }
        status += ")" + (a.statusNote.map { ": \($0)" } ?? "")
        lines.append(("Status", status))
        let weights = d.model.weights.map { "weights \($0)" } ?? "seeded initialisation (seed \(d.model.initSeed))"
        lines.append(("Model", "\(a.model), version \"\(a.modelVersion)\", \(weights), SHA-256 \(a.modelSHA256.prefix(16))..."
                      + (d.model.normalize.map { "; input normalised \($0.inWords)" } ?? "")))
        let source = d.data.folder ?? "\(d.data.images?.count ?? 0) listed images"
        lines.append(("Images", "\(d.data.samples) sample\(d.data.samples == 1 ? "" : "s") of \(d.fl.batchSize) image\(d.fl.batchSize == 1 ? "" : "s") from \(source) (selection seed \(d.data.selectionSeed))"))
        var fl = d.fl.algorithm == .fedsgd ? "FedSGD (the client sends its gradient)" : "FedAvg, \(d.fl.localSteps ?? 1) local steps at lr \(d.fl.learningRate ?? 0)"
        fl += ", batch size \(d.fl.batchSize)"
        lines.append(("FL setting", fl))
        lines.append(("Attacks", d.attacks.map { attackText($0) }.joined(separator: "; ")))
        lines.append(("Defences", "\(d.defences.count) settings tested; the site declares: \(d.declaredDefence)"))
        lines.append(("Trials", "\(recorded) of \(a.trialsPlanned) recorded" + (a.shard.map { " (shard \($0) of a \(a.gridSize)-trial grid)" } ?? "")))
        lines.append(("Tool", "medpfl \(a.toolVersion), audit seed \(a.seed), configuration SHA-256 \(a.configSHA256.prefix(16))..."))
        if let g = digest {
            lines.append(("Digest", "sha256:\(g.digest) (v\(g.version), \(g.rows) rows"
                          + (g.signedBy.map { ", signed by \($0)" } ?? ", unsigned") + "); check it with medpfl verify \(a.id)"))
        } else if a.status == .finished {
            lines.append(("Digest", "none (finished by medpfl \(a.toolVersion), before audit digests): it cannot be verified"))
        } else {
            lines.append(("Digest", "written when the audit finishes"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return "Audit \(a.id): \(TerminalText.oneLine(a.site))\n" + lines.map { ($0.0, TerminalText.oneLine($0.1)) }.map { "\($0.0 + ":")".padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }

    func attackText(_ e: AttackEntry) -> String {
        "\(e.label) (\(e.config.kind.method.summary(e.config)))"
    }
}

func pct(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
func f2(_ x: Double) -> String { String(format: "%.2f", x) }
