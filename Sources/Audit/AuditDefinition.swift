import Attacks
import Federated
import Foundation
import Imaging
import NN

/// A parsed and validated audit definition (`audits/SCHEMA.md` documents the YAML form).
///
/// Paths are kept as written in the file (relative to its folder); `AuditDefinition.resolve(_:)` gives the
/// path on disk. Every default is filled in, so the encoded definition is the complete configuration the
/// audit log records.
public struct AuditDefinition: Codable, Sendable, Equatable {
    /// The hospital or site the audit is about.
    public var site: String
    /// Seed of every random draw of the audit (trial seeds are derived from it and the trial key).
    public var seed: UInt64
    public var model: ModelSection
    public var data: DataSection
    public var fl: FLSection
    public var attacks: [AttackEntry]
    /// Defence settings tested, canonical and without duplicates, sweeps expanded, the declared one included.
    public var defences: [DefenceSpec]
    /// The defence the site actually uses; the site's overall risk is this setting's band.
    public var declaredDefence: DefenceSpec
    public var thresholds: RiskThresholds
    /// Accuracy cost of each defence, measured by FL training (optional).
    public var utility: UtilitySection?
    public var output: OutputSection
    /// Folder of the definition file; relative paths resolve against it. Not part of the configuration hash.
    public var baseDirectory: String
    /// The threat models the audit puts in scope (`threat_models:`); nil when the file does not say, which means
    /// both (the default; kept nil so that audits written before the key existed keep their configuration).
    public var threatModels: [ThreatModel]? = nil
    /// The re-identification pool (`reidentification:`); nil when the file does not say, which means every image of
    /// the data up to `ReidentificationSection.defaultPool` (nil keeps older audits' configuration).
    public var reidentification: ReidentificationSection? = nil

    /// Images each reconstruction is ranked among: the file's `pool`, or the default, never more than the data holds.
    public func reidentificationPool(available: Int) -> Int {
        Swift.min(available, reidentification?.pool ?? ReidentificationSection.defaultPool)
    }

    /// The threat models in scope, in `ThreatModel` order: the file's list, or every threat model.
    public var threatModelsInScope: [ThreatModel] {
        let given = threatModels ?? ThreatModel.allCases
        return ThreatModel.allCases.filter(given.contains)
    }

    /// `path` as it lies on disk: absolute paths unchanged, others relative to `baseDirectory`.
    public func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: baseDirectory, isDirectory: true).appendingPathComponent(path).standardizedFileURL.path
    }
}

/// Which network the site trains and with which weights.
public struct ModelSection: Codable, Sendable, Equatable {
    /// Zoo name (`ModelZoo.names`), or nil when `file` is given.
    public var zoo: String?
    /// A model file (nn.Sequential YAML, see audits/models/site-cnn.yaml), or nil for a zoo model.
    public var file: String?
    public var classes: Int
    /// Square input side in pixels.
    public var inputSize: Int
    /// Input channels: 3 (RGB) or 1 (gray: the images' luma, PIL's convert('L')); nil = 3 (logs before 0.3).
    public var channels: Int? = nil
    /// How images are resized to the input: area (default), bilinear (PIL's, antialiased, as torchvision's
    /// Resize) or lanczos; nil = area.
    public var resize: ResizeMethod? = nil
    /// Weights (safetensors, or a PyTorch checkpoint `.pt`/`.pth`/`.pth.tar`; PyTorch state-dict keys);
    /// nil = seeded initialisation from `initSeed`.
    public var weights: String?
    /// The key of the state dict inside a training checkpoint (default: found as `state_dict`,
    /// `model_state_dict` or `model`).
    public var weightsKey: String? = nil
    /// The site's input normalisation (inside the model's forward pass; reconstructions stay in pixel space).
    public var normalize: InputNormalization? = nil
    /// The site's own label for this model version (e.g. "2024-06 release").
    public var version: String
    public var bn: BNMode
    /// Seed of the initialisation when no weights are given.
    public var initSeed: UInt64

    public var inputChannels: Int { channels ?? 3 }
    public var resizeMethod: ResizeMethod { resize ?? .area }
}

/// Which images the attacks try to rebuild.
public struct DataSection: Codable, Sendable, Equatable {
    /// One labelled image given by path.
    public struct LabelledImage: Codable, Sendable, Equatable {
        public var path: String
        public var label: Int
        public init(path: String, label: Int) { self.path = path; self.label = label }
    }
    /// An ImageFolder (one sub-folder per class), or nil when `images` is given.
    public var folder: String?
    /// Images listed one by one, or nil when `folder` is given.
    public var images: [LabelledImage]?
    /// Number of samples; a sample is one batch of `fl.batchSize` images (one intercepted update).
    public var samples: Int
    /// Seed of the image selection (evenly over classes).
    public var selectionSeed: UInt64
    /// A labels CSV (columns `path` and `labelColumn`) for a `folder` of files without class sub-folders.
    public var labels: String? = nil
    /// The CSV column holding each file's class (default `label`).
    public var labelColumn: String? = nil
    /// Class names in label order (default: the labels sorted), with `labels`.
    public var classes: [String]? = nil
    /// How a DICOM frame is windowed: "dicom" (the file's own VOI, the default), "auto", or "CENTER,WIDTH".
    public var window: String? = nil
    /// Which frames of a multi-frame file are images: "middle" (the default), "all", or a 0-based index.
    public var frames: String? = nil
    /// Skip unreadable files (counted in the log and the report) instead of refusing the audit.
    public var skipUnreadable: Bool? = nil
    /// The axis NIfTI volumes are sliced along: "x", "y" or "z" (the default).
    public var sliceAxis: String? = nil

    public init(folder: String?, images: [LabelledImage]?, samples: Int, selectionSeed: UInt64, labels: String? = nil,
                labelColumn: String? = nil, classes: [String]? = nil, window: String? = nil, frames: String? = nil,
                skipUnreadable: Bool? = nil) {
        self.folder = folder
        self.images = images
        self.samples = samples
        self.selectionSeed = selectionSeed
        self.labels = labels
        self.labelColumn = labelColumn
        self.classes = classes
        self.window = window
        self.frames = frames
        self.skipUnreadable = skipUnreadable
    }

    /// The reading options these keys give (validated when the file is parsed).
    public var readOptions: ImageReadOptions {
        ImageReadOptions(window: window.flatMap(WindowChoice.init) ?? .dicom, frames: frames.flatMap(FrameChoice.init) ?? .middle,
                         axis: sliceAxis.flatMap(SliceAxis.init(rawValue:)) ?? .z)
    }
}

/// FL algorithm the site runs.
public enum FLAlgorithm: String, Codable, Sendable, CaseIterable {
    /// One gradient of the local batch per round (the update is the gradient).
    case fedsgd
    /// Several local SGD steps per round (the update is the weight difference).
    case fedavg
}

/// How a client computes the update an attacker intercepts.
public struct FLSection: Codable, Sendable, Equatable {
    public var algorithm: FLAlgorithm
    public var batchSize: Int
    /// Local SGD steps per round (FedAvg only).
    public var localSteps: Int?
    /// Local learning rate (FedAvg only).
    public var learningRate: Double?
    /// The deployment's training, for the accountant (`fl.rounds`, `fl.sample_rate`): how many rounds the site takes
    /// part in, and the share of its data behind each update (nil: the DP spec's own `sample-rate`). Whole-training
    /// epsilon is stated only when `rounds` is given; `utility.*` stays the simulation that measures the accuracy cost.
    public var rounds: Int? = nil
    public var sampleRate: Double? = nil
}

/// One attack of the audit, with its settings resolved from the attack's defaults and the overrides.
public struct AttackEntry: Codable, Sendable, Equatable {
    /// Name in trial keys and reports: the attack's name, or the entry's `label` when given.
    public var label: String
    public var config: AttackConfig
    public init(label: String, config: AttackConfig) { self.label = label; self.config = config }
}

/// SSIM thresholds that turn scores into successes and risk bands (see `RiskAssessment`).
public struct RiskThresholds: Codable, Sendable, Equatable {
    /// A reconstruction with SSIM at or above this counts as a successful attack.
    public var successSSIM: Double = 0.9
    /// A setting is HIGH risk if any attack succeeds or its best SSIM reaches this.
    public var highSSIM: Double = 0.9
    /// A setting is at least MEDIUM risk if the best SSIM reaches this...
    public var mediumSSIM: Double = 0.5
    /// ...or if the fraction of labels recovered is above this (0: any recovered label counts).
    public var labelLeakage: Double = 0
    /// A setting is HIGH risk when the fraction of reconstructions that single out their patient (rank 1 among the
    /// re-identification pool) reaches this, even below the SSIM thresholds; nil = the default (kept nil so that
    /// older audits keep their configuration).
    public var reidentification: Double? = nil
    public static let defaultReidentification = 0.5
    public var reidentificationRate: Double { reidentification ?? Self.defaultReidentification }
    public init() {}
}

/// Which images a reconstruction is ranked among to measure re-identification (issue "Verdicts").
public struct ReidentificationSection: Codable, Sendable, Equatable {
    /// Every image of the data, up to this many, when the file does not say.
    public static let defaultPool = 500
    /// Images to rank among (the attacked ones included).
    public var pool: Int
    public init(pool: Int) { self.pool = pool }
}

/// The accuracy budget and the FL training that measures each defence's accuracy cost.
public struct UtilitySection: Codable, Sendable, Equatable {
    /// Largest accuracy drop (fraction, 0.02 = two points) the site accepts for a defence.
    public var maxAccuracyDrop: Double
    public var rounds: Int
    public var clients: Int
    /// Local algorithm of the training clients (default: the audit's `fl.algorithm`).
    public var algorithm: FLAlgorithm
    /// Local SGD steps per round (FedAvg).
    public var localSteps: Int
    public var learningRate: Double
    /// Local batch size of the training clients.
    public var batchSize: Int
    /// Fraction of the data set held out to measure accuracy.
    public var testFraction: Double
    /// How images are dealt to the clients: `iid` or `dirichlet:ALPHA`.
    public var partition: String
    /// Training runs per setting, each with its own seed (split, initial minibatches and defence draws): the accuracy
    /// and its drop are pooled over them, image by image (`utility.seeds`; nil = `defaultSeeds`, kept nil so that
    /// older audits keep their configuration).
    public var seeds: Int? = nil

    public static let defaultSeeds = 3
    public var seedCount: Int { seeds ?? Self.defaultSeeds }
}

/// Where results go (not part of the configuration hash).
public struct OutputSection: Codable, Sendable, Equatable {
    /// SQLite audit log; nil = `medpfl.sqlite` in the working directory (or `--db`).
    public var database: String?
    /// Folder for rendered reports.
    public var reportDirectory: String?
}
