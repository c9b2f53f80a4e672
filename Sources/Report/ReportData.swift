import Foundation

/// Everything one risk report shows, as plain Codable values.
///
/// The report is built from this alone (`ReportRenderer`), so it can be filled from the audit store
/// (`ReportData(store:auditID:)`), from JSON, or by hand in tests. Nothing in it depends on the clock:
/// the audit's own start time is the only date a report prints, so the same data always gives the same
/// Markdown. Settings and attacks are shown in the order given here.
public struct ReportData: Codable, Sendable, Equatable {
    /// Who ran what, when, on which model.
    public var metadata: Metadata
    /// The attacks that were run, in report order.
    public var attacks: [Attack]
    /// The defence settings that were tested, in report order (usually "no defence" first, then by
    /// increasing protection).
    public var settings: [Setting]
    /// One row per attack x setting that was run.
    public var rows: [Row]
    /// What the recommendation logic chose, if anything.
    public var recommendation: Recommendation?
    /// How model utility (test accuracy) was measured; nil when it was not.
    public var utility: Utility?
    /// The meaning of each risk band, as the audit defined it.
    public var bands: [BandDefinition]
    /// The original images that were attacked (empty when the audit kept no images).
    public var samples: [Sample]
    /// Reconstructions, at most one per attack x setting x sample.
    public var reconstructions: [Reconstruction]
    /// The previous audit of the same site, for the comparison section.
    public var previous: PreviousAudit?
    /// Limitations particular to this audit, shown after the general ones.
    public var limitations: [String]
    /// The verdict per threat model the audit put in scope; nil for audits assessed before threat models were
    /// assessed apart (the report then shows the overall verdict only).
    public var threats: [Threat]? = nil

    public init(metadata: Metadata, attacks: [Attack], settings: [Setting], rows: [Row],
                recommendation: Recommendation?, utility: Utility?, bands: [BandDefinition],
                samples: [Sample] = [], reconstructions: [Reconstruction] = [],
                previous: PreviousAudit? = nil, limitations: [String] = []) {
        self.metadata = metadata
        self.attacks = attacks
        self.settings = settings
        self.rows = rows
        self.recommendation = recommendation
        self.utility = utility
        self.bands = bands
        self.samples = samples
        self.reconstructions = reconstructions
        self.previous = previous
        self.limitations = limitations
    }
}

extension ReportData {
    /// Risk bands, from least to most severe (the audit's LOW, MEDIUM, HIGH).
    public enum RiskLevel: String, Codable, Sendable, CaseIterable, Comparable {
        case low, medium, high

        /// "Low", "Medium", "High".
        public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
        /// Rank, 0 for low.
        public var severity: Int { Self.allCases.firstIndex(of: self)! }

        public static func < (a: RiskLevel, b: RiskLevel) -> Bool { a.severity < b.severity }

        /// The title of a band that may be missing (no attack applied): "Not assessed".
        public static func title(_ level: RiskLevel?) -> String { level?.title ?? "Not assessed" }
    }

    /// Audit metadata shown in the report header and in the filing paragraph.
    public struct Metadata: Codable, Sendable, Equatable {
        public var auditID: String
        /// The site (hospital, department) audited.
        public var site: String
        /// Model name (zoo name or model file).
        public var model: String
        /// The site's own version string of the model, if given.
        public var modelVersion: String?
        /// SHA-256 of the weights file (hex), nil for seeded initial weights.
        public var weightsSHA256: String?
        /// Where the attacked images came from (folder or data set name).
        public var dataSource: String
        /// Number of images attacked per setting.
        public var sampleSize: Int
        /// Images per attacked update.
        public var batchSize: Int
        /// medpfl version that ran the audit.
        public var toolVersion: String
        /// Seed of every random draw.
        public var seed: UInt64
        /// When the audit started.
        public var startedAt: Date
        /// Wall-clock duration of the audit in seconds.
        public var durationSeconds: Double
        /// The exact command line that ran the audit.
        public var command: String
        /// Id of the defence setting the site declared it uses in production.
        public var declaredSetting: String
        /// SSIM at or above which a reconstruction counts as a successful attack.
        public var successThreshold: Double
        /// The audit log's SHA-256 digest of the audit (`medpfl verify` recomputes it); nil when it has none.
        public var digest: String? = nil
        /// Fingerprint of the Ed25519 key that signed the digest.
        public var signedBy: String? = nil
        /// Where the architecture came from ("ONNX opset 17, dynamic batch"); nil in logs before 0.3.
        public var modelFormat: String? = nil
        /// The trainable tensors of the update, by the site's own names, and their shapes.
        public var modelTensors: [String] = []
        public var parameterCount: Int? = nil

        public init(auditID: String, site: String, model: String, modelVersion: String?, weightsSHA256: String?,
                    dataSource: String, sampleSize: Int, batchSize: Int, toolVersion: String, seed: UInt64,
                    startedAt: Date, durationSeconds: Double, command: String, declaredSetting: String,
                    successThreshold: Double) {
            self.auditID = auditID
            self.site = site
            self.model = model
            self.modelVersion = modelVersion
            self.weightsSHA256 = weightsSHA256
            self.dataSource = dataSource
            self.sampleSize = sampleSize
            self.batchSize = batchSize
            self.toolVersion = toolVersion
            self.seed = seed
            self.startedAt = startedAt
            self.durationSeconds = durationSeconds
            self.command = command
            self.declaredSetting = declaredSetting
            self.successThreshold = successThreshold
        }
    }

    /// One attack as configured for the audit.
    public struct Attack: Codable, Sendable, Equatable {
        /// Short id, e.g. "idlg".
        public var id: String
        /// Display name, e.g. "iDLG (Zhao et al. 2020)".
        public var name: String
        /// Its configuration in words, e.g. "L-BFGS, 300 iterations, 1 restart".
        public var configuration: String
        /// Who is assumed to attack, as audit files name it ("eavesdropper", "malicious-server"); nil in data
        /// made before attacks declared it.
        public var threatModel: String? = nil
        /// What the attack assumes the attacker knows or does ("BN running statistics known").
        public var assumptions: [String]? = nil

        public init(id: String, name: String, configuration: String) {
            self.id = id
            self.name = name
            self.configuration = configuration
        }
    }

    /// One defence setting (a `DefenceSpec`) and what it did.
    public struct Setting: Codable, Sendable, Equatable {
        /// Canonical spec string, e.g. "laplace:level=100"; the key rows refer to.
        public var id: String
        /// Human-readable description, e.g. "Laplace b=0.01 (level 100)".
        public var label: String
        /// Mean realised SNR of the defended updates, 20 log10(||u|| / ||u - defended||) in dB;
        /// nil when the defence leaves the update unchanged (infinite SNR).
        public var snrDB: Double?
        /// Epsilon of the DP guarantee, nil when the setting is not differentially private.
        public var epsilon: Double?
        /// The delta that goes with `epsilon`.
        public var delta: Double?
        /// Test accuracy of the model trained with this setting, in [0, 1]; nil when not measured.
        public var testAccuracy: Double?
        /// Overall risk band at this setting (the audit's verdict over all attacks); nil when no attack
        /// applied to it.
        public var band: RiskLevel?
        /// The tensors the defence protects least (highest realised SNR, by the site's own names), e.g.
        /// "classifier.weight (31.2 dB)"; empty when the update is unchanged.
        public var leastProtected: [String] = []
        /// "formal (DP)", "no formal guarantee" or "no defence", and why in one sentence per component (nil in older data).
        public var guarantee: String? = nil
        public var guaranteeReason: String? = nil
        /// Epsilon over the site's whole training as the audit declares it (`fl.rounds` at `fl.sample_rate`), nil when
        /// the setting is not DP or the audit does not declare the training.
        public var trainingEpsilon: Double? = nil
        public var trainingRounds: Int? = nil
        public var trainingSampleRate: Double? = nil
        /// The 95% interval of `testAccuracy` ([lower, upper]), the test images behind it over `utilityRuns` training runs.
        public var accuracyInterval: [Double]? = nil
        public var testImages: Int? = nil
        public var utilityRuns: Int? = nil
        /// The accuracy cost in words, with its paired 95% interval and sample ("3.2 accuracy points (95% CI ...)").
        public var accuracyCost: String? = nil
        /// Why training with this setting diverged, when it did.
        public var divergence: String? = nil

        public init(id: String, label: String, snrDB: Double?, epsilon: Double? = nil, delta: Double? = nil,
                    testAccuracy: Double? = nil, band: RiskLevel?) {
            self.id = id
            self.label = label
            self.snrDB = snrDB
            self.epsilon = epsilon
            self.delta = delta
            self.testAccuracy = testAccuracy
            self.band = band
        }
    }

    /// The aggregate result of one attack at one defence setting.
    public struct Row: Codable, Sendable, Equatable {
        /// `Attack.id`.
        public var attack: String
        /// `Setting.id`.
        public var setting: String
        /// Number of images attacked.
        public var images: Int
        /// Attack success rate: share of images with SSIM at or above the threshold, in [0, 1].
        public var asr: Double
        public var meanSSIM: Double
        public var maxSSIM: Double
        public var meanMSE: Double
        /// Mean PSNR in dB; nil when infinite (a perfect reconstruction).
        public var meanPSNR: Double?
        /// Share of images whose true class the attack recovered, in [0, 1]; nil when the attack does
        /// not infer labels.
        public var labelLeakage: Double?
        /// Attack time per image in seconds.
        public var secondsPerImage: Double
        /// Risk band of this attack at this setting; nil when the attack did not apply (the metrics are
        /// then meaningless and `note` says why).
        public var band: RiskLevel?
        /// Why the attack did not apply, or any other remark.
        public var note: String?
        /// Each intercepted update of the cell (one per sample, in sample order) with more than one image
        /// behind it; nil when every update held one image (the row says it all) or in older data.
        public var updates: [Update]? = nil
        /// Re-identification, gain over a blind guess and convergence; nil where not measured (attacks that
        /// rebuild no image, older data).
        public var evidence: Evidence? = nil
        /// The 95% Wilson interval of `asr` ([lower, upper]); nil in older data.
        public var asrInterval: [Double]? = nil

        /// What a cell's reconstructions reveal beyond SSIM.
        public struct Evidence: Codable, Sendable, Equatable {
            /// Reconstructions whose true image ranked first (in the top 5) among `pool` images, by SSIM or the
            /// model's features, out of `scored`; the 95% Wilson interval of the rank-1 rate.
            public var reidentified: Int
            public var top5: Int
            public var scored: Int
            public var pool: Int
            public var interval: [Double]
            /// Mean SSIM of the prior guess (the pool's mean image) and mean RDLV (nil where not defined).
            public var priorSSIM: Double?
            public var rdlv: Double?
            /// Attack trials judged for convergence, and those stopped while the loss still fell.
            public var judgedTrials: Int
            public var notConverged: Int
            public init(reidentified: Int, top5: Int, scored: Int, pool: Int, interval: [Double], priorSSIM: Double?, rdlv: Double?,
                        judgedTrials: Int, notConverged: Int) {
                self.reidentified = reidentified; self.top5 = top5; self.scored = scored; self.pool = pool; self.interval = interval
                self.priorSSIM = priorSSIM; self.rdlv = rdlv; self.judgedTrials = judgedTrials; self.notConverged = notConverged
            }
        }

        /// One intercepted update: its images, how many were rebuilt, its labels recovered, its mean and best SSIM.
        public struct Update: Codable, Sendable, Equatable {
            public var images: Int
            public var rebuilt: Int
            public var labelsRecovered: Int
            public var meanSSIM: Double
            public var maxSSIM: Double
            public init(images: Int, rebuilt: Int, labelsRecovered: Int, meanSSIM: Double, maxSSIM: Double) {
                self.images = images; self.rebuilt = rebuilt; self.labelsRecovered = labelsRecovered
                self.meanSSIM = meanSSIM; self.maxSSIM = maxSSIM
            }
        }

        public init(attack: String, setting: String, images: Int, asr: Double, meanSSIM: Double, maxSSIM: Double,
                    meanMSE: Double, meanPSNR: Double?, labelLeakage: Double?, secondsPerImage: Double,
                    band: RiskLevel?, note: String? = nil) {
            self.attack = attack
            self.setting = setting
            self.images = images
            self.asr = asr
            self.meanSSIM = meanSSIM
            self.maxSSIM = maxSSIM
            self.meanMSE = meanMSE
            self.meanPSNR = meanPSNR
            self.labelLeakage = labelLeakage
            self.secondsPerImage = secondsPerImage
            self.band = band
            self.note = note
        }

        /// True when the attack applied, so its metrics count.
        public var applied: Bool { band != nil }
    }

    /// The verdict against one threat model: the bands over only its attacks.
    public struct Threat: Codable, Sendable, Equatable {
        /// As audit files name it: "eavesdropper" or "malicious-server".
        public var id: String
        /// Who attacks, in words ("a malicious server that modifies the model it sends").
        public var description: String
        /// `Attack.id`s of this threat model run in the audit (empty: not assessed).
        public var attacks: [String]
        /// The band at the declared setting (nil: not assessed).
        public var declaredBand: RiskLevel?
        /// Each tested setting's band against this threat model (nil: no attack of it applied there).
        public var settingBands: [SettingBand]
        /// The setting recommended against this threat model alone, and why (as written).
        public var recommended: String?
        public var rationale: String

        public struct SettingBand: Codable, Sendable, Equatable {
            public var setting: String
            public var band: RiskLevel?
            public init(setting: String, band: RiskLevel?) { self.setting = setting; self.band = band }
        }

        public init(id: String, description: String, attacks: [String], declaredBand: RiskLevel?, settingBands: [SettingBand],
                    recommended: String?, rationale: String) {
            self.id = id; self.description = description; self.attacks = attacks; self.declaredBand = declaredBand
            self.settingBands = settingBands; self.recommended = recommended; self.rationale = rationale
        }

        /// Whether an attack of this threat model applied at any setting.
        public var assessed: Bool { settingBands.contains { $0.band != nil } }
        /// Settings that leave this threat model LOW: the defences that stop it, as measured.
        public var stoppedBy: [String] { settingBands.filter { $0.band == .low }.map(\.setting) }
        /// Settings tested against it that do not.
        public var notStoppedBy: [SettingBand] { settingBands.filter { $0.band != nil && $0.band != .low } }
    }

    /// The setting the audit recommends, if one met its target.
    public struct Recommendation: Codable, Sendable, Equatable {
        /// `Setting.id` of the recommended setting; nil when no tested setting was acceptable.
        public var setting: String?
        /// Why, in one or two sentences (shown as written).
        public var rationale: String

        public init(setting: String?, rationale: String) {
            self.setting = setting
            self.rationale = rationale
        }
    }

    /// How the accuracy cost was measured.
    public struct Utility: Codable, Sendable, Equatable {
        /// Test accuracy without any defence, in [0, 1].
        public var baselineAccuracy: Double
        /// How it was measured, e.g. "3 federated rounds on 120 training images, 60 held-out test images".
        public var method: String

        public init(baselineAccuracy: Double, method: String) {
            self.baselineAccuracy = baselineAccuracy
            self.method = method
        }
    }

    /// What one risk band means.
    public struct BandDefinition: Codable, Sendable, Equatable {
        public var level: RiskLevel
        /// The rule, e.g. "ASR at least 50% or mean SSIM at least 0.6".
        public var criterion: String

        public init(level: RiskLevel, criterion: String) {
            self.level = level
            self.criterion = criterion
        }
    }

    /// One attacked original image.
    public struct Sample: Codable, Sendable, Equatable {
        /// Position in the audit's sample (0-based); reconstructions refer to it.
        public var index: Int
        /// Class name of the image, e.g. "xray".
        public var className: String
        /// The image as PNG.
        public var png: Data

        public init(index: Int, className: String, png: Data) {
            self.index = index
            self.className = className
            self.png = png
        }
    }

    /// One reconstruction of one sample by one attack at one setting.
    public struct Reconstruction: Codable, Sendable, Equatable {
        public var attack: String
        public var setting: String
        /// `Sample.index` of the original it reconstructs.
        public var sample: Int
        /// The reconstruction as PNG.
        public var png: Data

        public init(attack: String, setting: String, sample: Int, png: Data) {
            self.attack = attack
            self.setting = setting
            self.sample = sample
            self.png = png
        }
    }

    /// The previous audit of the same site, reduced to what the comparison needs.
    public struct PreviousAudit: Codable, Sendable, Equatable {
        public var auditID: String
        public var startedAt: Date
        public var toolVersion: String
        /// `Setting.id` the site declared at that time.
        public var declaredSetting: String
        /// Overall band at that declared setting (nil when not assessed).
        public var declaredBand: RiskLevel?
        /// Its rows (attack and setting ids are matched with this audit's).
        public var rows: [Row]

        public init(auditID: String, startedAt: Date, toolVersion: String, declaredSetting: String,
                    declaredBand: RiskLevel?, rows: [Row]) {
            self.auditID = auditID
            self.startedAt = startedAt
            self.toolVersion = toolVersion
            self.declaredSetting = declaredSetting
            self.declaredBand = declaredBand
            self.rows = rows
        }
    }
}

extension ReportData {
    /// The setting with this id.
    public func setting(_ id: String) -> Setting? { settings.first { $0.id == id } }
    /// The attack with this id.
    public func attack(_ id: String) -> Attack? { attacks.first { $0.id == id } }
    /// The row of this attack at this setting.
    public func row(attack: String, setting: String) -> Row? {
        rows.first { $0.attack == attack && $0.setting == setting }
    }
    /// The rows of one setting, in attack order.
    public func rows(setting: String) -> [Row] {
        attacks.compactMap { row(attack: $0.id, setting: setting) }
    }
}
