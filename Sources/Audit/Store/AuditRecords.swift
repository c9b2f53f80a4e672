import Attacks
import Federated
import Foundation
import GRDB

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

/// One audit (a row of `audits`).
public struct AuditRecord: FetchableRecord, Codable, Sendable, Equatable {
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
    public let seed: UInt64
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

    public init(row: Row) throws {
        id = row["id"]; site = row["site"]; model = row["model"]; modelVersion = row["model_version"]
        modelSHA256 = row["model_sha256"]; configJSON = row["config_json"]; configSHA256 = row["config_sha256"]
        toolVersion = row["tool_version"]; seed = try StoredValue.parse(row, "audits", "seed") { UInt64($0) }; commandLine = row["command_line"]
        definitionPath = row["definition_path"]; shard = row["shard"]; trialsPlanned = row["trials_planned"]
        gridSize = row["grid_size"]; startedAt = row["started_at"]; finishedAt = row["finished_at"]
        status = try StoredValue.parse(row, "audits", "status") { AuditStatus(rawValue: $0) }; statusNote = row["status_note"]
        pid = row["pid"]; host = row["host"]
    }

    /// The resolved configuration the audit ran with.
    public func config() throws -> ResolvedConfig { try AuditJSON.decode(ResolvedConfig.self, configJSON) }
}

/// One trial (a row of `trials`): a sample attacked by one attack under one defence setting.
public struct TrialRecord: FetchableRecord, Codable, Sendable {
    public let id: Int64
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
    public let seed: UInt64
    public let trueLabels: [Int]
    public let recoveredLabels: [Int?]
    public let applicable: Bool
    public let note: String?
    /// Images behind the update, how many were rebuilt (SSIM at or above the success threshold) and
    /// how many labels were recovered.
    public let images: Int
    public let successes: Int
    public let labelsRecovered: Int
    /// Means over the trial's images (nil when not applicable).
    public let mse: Double?
    public let psnr: Double?
    public let ssim: Double?
    public let maxSSIM: Double?
    public let success: Bool
    public let iterations: Int
    public let finalLoss: Double?
    public let seconds: Double
    public let recordedAt: Date

    public init(row: Row) throws {
        func json<T: Decodable>(_ t: T.Type, _ col: String) throws -> T { try AuditJSON.decode(t, row[col]) }
        id = row["id"]; auditID = row["audit_id"]; key = row["trial_key"]; gridIndex = row["grid_index"]
        sampleIndex = row["sample_index"]; imagePaths = try json([String].self, "image_paths")
        imageSHA256 = try json([String].self, "image_sha256"); attack = row["attack"]
        attackKind = try StoredValue.parse(row, "trials", "attack_kind") { AttackKind(rawValue: $0) }
        attackConfig = try json(AttackConfig.self, "attack_config"); defence = row["defence"]
        effect = try json(DefenceEffect.self, "defence_effect"); seed = try StoredValue.parse(row, "trials", "seed") { UInt64($0) }
        trueLabels = try json([Int].self, "true_labels"); recoveredLabels = try json([Int?].self, "recovered_labels")
        applicable = row["applicable"]; note = row["note"]; images = row["images"]; successes = row["successes"]
        labelsRecovered = row["labels_recovered"]; mse = row["mse"]; psnr = row["psnr"]; ssim = row["ssim"]
        maxSSIM = row["max_ssim"]; success = row["success"]; iterations = row["iterations"]
        finalLoss = row["final_loss"]; seconds = row["seconds"]; recordedAt = row["recorded_at"]
    }
}

/// One reconstructed image of a trial and its original, as PNG bytes.
public struct ReconstructionRecord: FetchableRecord, Sendable {
    public let id: Int64
    public let trialID: Int64
    /// Index of the original within the attacked batch.
    public let imageIndex: Int
    public let reconstructionIndex: Int
    public let trueLabel: Int
    public let recoveredLabel: Int?
    public let mse: Double
    public let psnr: Double
    public let ssim: Double
    public let success: Bool
    public let reconstructionPNG: Data
    public let originalPNG: Data

    public init(row: Row) throws {
        id = row["id"]; trialID = row["trial_id"]; imageIndex = row["image_index"]
        reconstructionIndex = row["reconstruction_index"]; trueLabel = row["true_label"]
        recoveredLabel = row["recovered_label"]; mse = row["mse"]; psnr = (row["psnr"] as Double?) ?? .infinity
        ssim = row["ssim"]; success = row["success"]; reconstructionPNG = row["reconstruction_png"]
        originalPNG = row["original_png"]
    }
}

/// Accuracy of a model trained with FL under one defence setting.
public struct UtilityRunRecord: FetchableRecord, Codable, Sendable, Equatable {
    public let auditID: Int64
    public let defence: String
    public let accuracy: Double
    /// Accuracy of the same training without any defence.
    public let baselineAccuracy: Double
    /// baselineAccuracy - accuracy.
    public let drop: Double
    public let rounds: Int
    public let clients: Int
    public let seed: UInt64
    public let seconds: Double
    public let details: String?

    public init(auditID: Int64, defence: String, accuracy: Double, baselineAccuracy: Double, rounds: Int, clients: Int,
                seed: UInt64, seconds: Double, details: String?) {
        self.auditID = auditID; self.defence = defence; self.accuracy = accuracy; self.baselineAccuracy = baselineAccuracy
        self.drop = baselineAccuracy - accuracy; self.rounds = rounds; self.clients = clients; self.seed = seed
        self.seconds = seconds; self.details = details
    }

    public init(row: Row) throws {
        auditID = row["audit_id"]; defence = row["defence"]; accuracy = row["accuracy"]
        baselineAccuracy = row["baseline_accuracy"]; drop = row["accuracy_drop"]; rounds = row["rounds"]
        clients = row["clients"]; seed = try StoredValue.parse(row, "utility_runs", "seed") { UInt64($0) }; seconds = row["seconds"]; details = row["details"]
    }
}

/// One line of an audit's verdict, written when the audit finishes.
public struct RecommendationRecord: FetchableRecord, Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The site's overall risk (the band of the declared defence).
        case site
        /// The recommended setting, or the plain statement that none is LOW risk.
        case recommended
        /// The verdict on one tested setting.
        case setting
        /// Any other remark (e.g. attacks that did not apply).
        case note
    }
    public let position: Int
    public let kind: Kind
    public let setting: String?
    public let band: String?
    public let text: String

    public init(position: Int, kind: Kind, setting: String?, band: String?, text: String) {
        self.position = position; self.kind = kind; self.setting = setting; self.band = band; self.text = text
    }

    public init(row: Row) throws {
        position = row["position"]; kind = try StoredValue.parse(row, "recommendations", "kind") { Kind(rawValue: $0) }; setting = row["setting"]
        band = row["band"]; text = row["text"]
    }
}

/// A value in the audit log that the reader does not understand: an error naming the table, row and column,
/// never a plausible default (a damaged log must not read as data).
public struct StoredValueError: Error, CustomStringConvertible {
    public let description: String
}

enum StoredValue {
    /// The text column `column` of `row`, parsed by `parse`; throws when it is missing or does not parse.
    static func parse<T>(_ row: Row, _ table: String, _ column: String, _ parse: (String) -> T?) throws -> T {
        let id: Int64? = row["id"]
        let where_ = "\(table) row \(id.map(String.init) ?? "?"), column \(column)"
        guard row.hasColumn(column) else { throw StoredValueError(description: "audit log: \(where_) is missing") }
        guard let text = row[column] as String? else { throw StoredValueError(description: "audit log: \(where_) is empty") }
        guard let v = parse(text) else { throw StoredValueError(description: "audit log: \(where_) holds '\(text.prefix(40))', which this medpfl does not know") }
        return v
    }
}
