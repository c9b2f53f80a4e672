import Attacks
import Evaluation
import Federated
import Foundation
import GRDB
import Metrics

/// Lifecycle of an audit in the log.
public enum AuditStatus: String, Codable, Sendable, CaseIterable {
    /// Trials are being run (or the process was killed: see `AuditRecord.pid`).
    case running
    /// Stopped by a signal or by the user; `medpfl audit FILE --resume ID` finishes it.
    case interrupted
    /// Every trial is recorded and the recommendation written; the audit can no longer change.
    case finished
    /// Stopped by an internal error; can be resumed.
    case failed
}

/// A stored status that is not one of these fails to decode (an error naming the column), never a default.
extension AuditStatus: DatabaseValueConvertible {}

/// The GRDB idiom every table of the log follows: a `Codable` record whose `CodingKeys` are the column
/// names, JSON columns (arrays, configurations, effects) coded by GRDB with the log's JSON coder
/// (`AuditJSON`: sorted keys, non-finite numbers as strings). A value that does not decode is an error
/// naming the table, the row id and the column (`AuditStore.decodeRows`), never a default.
public protocol AuditTableRecord: Codable, FetchableRecord, MutablePersistableRecord {}

extension AuditTableRecord {
    public static func databaseJSONDecoder(for column: String) -> JSONDecoder { AuditJSON.decoder() }
    public static func databaseJSONEncoder(for column: String) -> JSONEncoder { AuditJSON.encoder() }
}

/// A 64-bit seed, stored as decimal text (SQLite's INTEGER is signed; seeds use all 64 bits).
struct DecimalSeed: Codable, DatabaseValueConvertible, Sendable, Equatable {
    let value: UInt64
    init(_ v: UInt64) { value = v }
    var databaseValue: DatabaseValue { String(value).databaseValue }
    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> DecimalSeed? {
        String.fromDatabaseValue(dbValue).flatMap { UInt64($0) }.map(DecimalSeed.init)
    }
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let t = try c.decode(String.self)
        guard let v = UInt64(t) else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a seed: \(t.prefix(24))") }
        value = v
    }
    func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(String(value)) }
}

/// One audit (a row of `audits`).
public struct AuditRecord: AuditTableRecord, Sendable, Equatable {
    public static let databaseTableName = "audits"
    public let id: Int64
    public let site: String
    /// Model name (zoo name or the model file's name).
    public let model: String
    public let modelVersion: String
    /// SHA-256 of the weights file, or of the seeded initialisation's tensors.
    public let modelSHA256: String
    /// The resolved configuration (`ResolvedConfig`) as JSON, and its SHA-256.
    public let configJSON: String
    public let configSHA256: String
    public let toolVersion: String
    let storedSeed: DecimalSeed
    public var seed: UInt64 { storedSeed.value }
    public let commandLine: String
    public let definitionPath: String?
    /// "K/N" for one shard of a sharded audit, nil for a whole audit.
    public let shard: String?
    /// Trials this audit runs (its shard's share of the grid).
    public let trialsPlanned: Int
    /// Trials in the whole grid.
    public let gridSize: Int
    public let startedAt: Date
    public let finishedAt: Date?
    public let status: AuditStatus
    public let statusNote: String?
    public let pid: Int?
    public let host: String?
    /// The process running it: `ProcessIdentity.token` (PID, start time, boot); nil in logs before v4.
    public let process: String?

    enum CodingKeys: String, CodingKey {
        case id, site, model, modelVersion = "model_version", modelSHA256 = "model_sha256", configJSON = "config_json"
        case configSHA256 = "config_sha256", toolVersion = "tool_version", storedSeed = "seed", commandLine = "command_line"
        case definitionPath = "definition_path", shard, trialsPlanned = "trials_planned", gridSize = "grid_size"
        case startedAt = "started_at", finishedAt = "finished_at", status, statusNote = "status_note", pid, host, process
    }

    /// The resolved configuration the audit ran with.
    public func config() throws -> ResolvedConfig { try AuditJSON.decode(ResolvedConfig.self, configJSON) }
}

/// One trial (a row of `trials`): a sample attacked by one attack under one defence setting.
public struct TrialRecord: AuditTableRecord, Sendable {
    public static let databaseTableName = "trials"
    /// nil only for a row not inserted yet.
    var rowID: Int64?
    /// The row id (every fetched trial has one).
    public var id: Int64 { rowID ?? -1 }
    public let auditID: Int64
    public let key: String
    public let gridIndex: Int
    public let sampleIndex: Int
    public let imagePaths: [String]
    public let imageSHA256: [String]
    /// The attack's label in the audit (its name unless the definition gave a label).
    public let attack: String
    public let attackKind: AttackKind
    public let attackConfig: AttackConfig
    /// Canonical defence spec string.
    public let defence: String
    /// What the defence did to the update (SNR, fraction of entries changed, epsilon...).
    public let effect: DefenceEffect
    /// The same as `effect`'s fields, as columns for queries.
    let snr: Double?
    let fractionChanged: Double?
    let epsilon: Double?
    let storedSeed: DecimalSeed
    public var seed: UInt64 { storedSeed.value }
    public let trueLabels: [Int]
    public let recoveredLabels: [Int?]
    public let applicable: Bool
    public let note: String?
    /// Images behind the update, how many were rebuilt (SSIM at or above the success threshold) and
    /// how many labels were recovered.
    public let images: Int
    public let successes: Int
    public let labelsRecovered: Int
    /// Means over the trial's images (nil when not applicable; PSNR capped as `CellStatistics` defines).
    public let mse: Double?
    public let psnr: Double?
    public let ssim: Double?
    public let maxSSIM: Double?
    public let success: Bool
    public let iterations: Int
    public let finalLoss: Double?
    public let seconds: Double
    public let recordedAt: Date
    /// The counters behind re-identification, RDLV and convergence (nil in logs before schema v5).
    public let leakageEvidence: LeakageEvidence?
    /// How far the best loss fell over the last 10% of the iterations (`Convergence`; nil when not judged).
    public let lateLossDrop: Double?

    enum CodingKeys: String, CodingKey {
        case leakageEvidence = "leakage_evidence", lateLossDrop = "late_loss_drop"
        case rowID = "id", auditID = "audit_id", key = "trial_key", gridIndex = "grid_index", sampleIndex = "sample_index"
        case imagePaths = "image_paths", imageSHA256 = "image_sha256", attack, attackKind = "attack_kind"
        case attackConfig = "attack_config", defence, effect = "defence_effect", snr, fractionChanged = "fraction_changed"
        case epsilon, storedSeed = "seed", trueLabels = "true_labels", recoveredLabels = "recovered_labels", applicable, note
        case images, successes, labelsRecovered = "labels_recovered", mse, psnr, ssim, maxSSIM = "max_ssim", success
        case iterations, finalLoss = "final_loss", seconds, recordedAt = "recorded_at"
    }

    /// The row a finished trial is recorded as.
    init(_ o: TrialOutcome, audit: Int64, recordedAt: Date) {
        let stats = o.statistics
        rowID = nil; auditID = audit; key = o.spec.key; gridIndex = o.spec.index; sampleIndex = o.spec.sample
        imagePaths = o.imageNames; imageSHA256 = o.imageSHA256; attack = o.spec.attack.label
        attackKind = o.spec.attack.config.kind; attackConfig = o.spec.attack.config; defence = o.spec.defence.description
        effect = o.effect; snr = o.effect.snr; fractionChanged = o.effect.fractionChanged; epsilon = o.effect.epsilon
        storedSeed = DecimalSeed(o.seed); trueLabels = o.trueLabels; recoveredLabels = o.recoveredLabels
        applicable = o.applicable; note = o.note; images = o.trueLabels.count; successes = stats.successes
        labelsRecovered = stats.labelsRecovered; mse = stats.meanMSE; psnr = stats.meanPSNR; ssim = stats.meanSSIM
        maxSSIM = stats.maxSSIM; success = stats.successes > 0; iterations = o.iterations
        finalLoss = o.finalLoss.isFinite ? o.finalLoss : nil; seconds = o.seconds; self.recordedAt = recordedAt
        leakageEvidence = o.applicable ? stats.evidence : nil
        lateLossDrop = o.convergence?.lateDrop
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { rowID = inserted.rowID }
}

/// One reconstructed image of a trial and its original, as PNG bytes.
public struct ReconstructionRecord: AuditTableRecord, Sendable {
    public static let databaseTableName = "reconstructions"
    /// nil only for a row not inserted yet.
    var rowID: Int64?
    public var id: Int64 { rowID ?? -1 }
    public let trialID: Int64
    /// Index of the original within the attacked batch.
    public let imageIndex: Int
    public let reconstructionIndex: Int
    public let trueLabel: Int
    public let recoveredLabel: Int?
    public let mse: Double
    /// NULL in the log for an exact reconstruction.
    let storedPSNR: Double?
    /// PSNR in dB (`+infinity` for an exact reconstruction).
    public var psnr: Double { storedPSNR ?? .infinity }
    public let ssim: Double
    public let success: Bool
    public let reconstructionPNG: Data
    public let originalPNG: Data
    /// Rank of the true image among the re-identification pool by SSIM and by features, the pool's size, and the
    /// prior guess's SSIM (nil in logs before schema v5, and for attacks that rebuild no image).
    public let reidRankSSIM: Int?
    public let reidRankFeatures: Int?
    public let reidPool: Int?
    public let priorSSIM: Double?

    enum CodingKeys: String, CodingKey {
        case reidRankSSIM = "reid_rank_ssim", reidRankFeatures = "reid_rank_features", reidPool = "reid_pool", priorSSIM = "prior_ssim"
        case rowID = "id", trialID = "trial_id", imageIndex = "image_index", reconstructionIndex = "reconstruction_index"
        case trueLabel = "true_label", recoveredLabel = "recovered_label", mse, storedPSNR = "psnr", ssim, success
        case reconstructionPNG = "reconstruction_png", originalPNG = "original_png"
    }

    init(_ im: ImageOutcome, trial: Int64) {
        rowID = nil; trialID = trial; imageIndex = im.original; reconstructionIndex = im.reconstruction; trueLabel = im.trueLabel
        recoveredLabel = im.recoveredLabel; mse = im.score.mse; storedPSNR = im.score.psnr.isFinite ? im.score.psnr : nil
        ssim = im.score.ssim; success = im.score.success; reconstructionPNG = im.reconstructionPNG; originalPNG = im.originalPNG
        reidRankSSIM = im.evidence?.rankSSIM; reidRankFeatures = im.evidence?.rankFeatures; reidPool = im.evidence?.pool
        priorSSIM = im.evidence?.priorSSIM
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { rowID = inserted.rowID }
}

/// Accuracy of a model trained with FL under one defence setting.
public struct UtilityRunRecord: AuditTableRecord, Sendable, Equatable {
    public static let databaseTableName = "utility_runs"
    public let auditID: Int64
    public let defence: String
    public let accuracy: Double
    /// Accuracy of the same training without any defence.
    public let baselineAccuracy: Double
    /// baselineAccuracy - accuracy.
    public let drop: Double
    public let rounds: Int
    public let clients: Int
    let storedSeed: DecimalSeed
    public var seed: UInt64 { storedSeed.value }
    public let seconds: Double
    public let details: String?
    /// Every training run behind the figures: per seed, its accuracy and which test images it got right, and
    /// whether it diverged (schema v6, `v6-utility-evidence`; nil in runs recorded before).
    public let evidence: UtilityEvidence?
    var recordedAt: Date? = nil

    enum CodingKeys: String, CodingKey {
        case auditID = "audit_id", defence, accuracy, baselineAccuracy = "baseline_accuracy", drop = "accuracy_drop"
        case rounds, clients, storedSeed = "seed", seconds, details, evidence = "utility_evidence", recordedAt = "recorded_at"
    }

    public init(auditID: Int64, defence: String, accuracy: Double, baselineAccuracy: Double, rounds: Int, clients: Int,
                seed: UInt64, seconds: Double, details: String?, evidence: UtilityEvidence? = nil) {
        self.auditID = auditID; self.defence = defence; self.accuracy = accuracy; self.baselineAccuracy = baselineAccuracy
        self.drop = baselineAccuracy - accuracy; self.rounds = rounds; self.clients = clients; self.storedSeed = DecimalSeed(seed)
        self.seconds = seconds; self.details = details; self.evidence = evidence
    }

    public static func == (a: UtilityRunRecord, b: UtilityRunRecord) -> Bool {
        a.auditID == b.auditID && a.defence == b.defence && a.accuracy == b.accuracy && a.baselineAccuracy == b.baselineAccuracy
            && a.drop == b.drop && a.rounds == b.rounds && a.clients == b.clients && a.seed == b.seed && a.seconds == b.seconds
            && a.details == b.details && a.evidence == b.evidence
    }
}

/// The training runs of one utility measurement (`utility.seeds` of them, each with its own split and minibatches):
/// what the accuracy, its interval and the paired interval of the drop are computed from, and divergence flags.
/// Stored as JSON in `utility_runs.utility_evidence`.
public struct UtilityEvidence: Codable, Sendable, Equatable {
    public struct Run: Codable, Sendable, Equatable {
        /// The run's seed (decimal: JSON numbers lose 64-bit integers).
        public var seed: String
        /// Final test accuracy.
        public var accuracy: Double
        /// Per test image, in the split's order: "1" predicted right, "0" wrong.
        public var correct: String
        /// Why the run diverged (non-finite loss or weights, accuracy at or below chance); nil for a healthy run.
        public var divergence: String?

        public init(seed: UInt64, accuracy: Double, correct: [Bool], divergence: String?) {
            self.seed = String(seed); self.accuracy = accuracy; self.correct = String(correct.map { $0 ? "1" : "0" })
            self.divergence = divergence
        }

        public var outcomes: [Bool] { correct.map { $0 == "1" } }
    }

    public var runs: [Run]
    /// Classes of the data set (chance is 1 / classes).
    public var classes: Int

    public init(runs: [Run], classes: Int) { self.runs = runs; self.classes = classes }

    /// Test images right out of test images, over every run.
    public var accuracy: Proportion {
        Proportion(runs.reduce(0) { $0 + $1.correct.filter { $0 == "1" }.count }, of: runs.reduce(0) { $0 + $1.correct.count })
    }

    /// The first divergence, naming its run when there are several ("run 2 of 3: ...").
    public var divergence: String? {
        guard let i = runs.firstIndex(where: { $0.divergence != nil }) else { return nil }
        return runs.count == 1 ? runs[i].divergence : "run \(i + 1) of \(runs.count): \(runs[i].divergence!)"
    }

    /// The paired table of `baseline` against these runs, pooled over runs; nil unless both hold the same seeds with
    /// the same test images (so each image is compared with itself).
    public func paired(against baseline: UtilityEvidence) -> PairedDifference? {
        guard runs.count == baseline.runs.count, !runs.isEmpty else { return nil }
        var t = (0, 0, 0, 0)
        for (b, d) in zip(baseline.runs, runs) {
            guard b.seed == d.seed, let p = PairedDifference(baseline: b.outcomes, defended: d.outcomes) else { return nil }
            t.0 += p.bothRight; t.1 += p.lost; t.2 += p.gained; t.3 += p.bothWrong
        }
        return PairedDifference(bothRight: t.0, lost: t.1, gained: t.2, bothWrong: t.3)
    }
}

/// One line of an audit's verdict, written when the audit finishes.
public struct RecommendationRecord: AuditTableRecord, Sendable, Equatable {
    public static let databaseTableName = "recommendations"
    public enum Kind: String, Codable, Sendable, DatabaseValueConvertible {
        /// The site's overall risk (the band of the declared defence).
        case site
        /// The recommended setting, or the plain statement that none is LOW risk.
        case recommended
        /// The verdict on one tested setting.
        case setting
        /// Any other remark (e.g. attacks that did not apply).
        case note
    }
    var auditID: Int64? = nil
    public let position: Int
    public let kind: Kind
    public let setting: String?
    public let band: String?
    public let text: String

    enum CodingKeys: String, CodingKey {
        case auditID = "audit_id", position, kind, setting, band, text
    }

    public init(position: Int, kind: Kind, setting: String?, band: String?, text: String) {
        self.position = position; self.kind = kind; self.setting = setting; self.band = band; self.text = text
    }

    public static func == (a: RecommendationRecord, b: RecommendationRecord) -> Bool {
        a.position == b.position && a.kind == b.kind && a.setting == b.setting && a.band == b.band && a.text == b.text
    }
}
