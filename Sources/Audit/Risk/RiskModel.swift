import Metrics
import Evaluation
import Federated
import Foundation

/// How exposed a setting leaves the site's patients.
public enum RiskBand: String, Codable, Sendable, CaseIterable, Comparable {
    case low = "LOW", medium = "MEDIUM", high = "HIGH"

    private var rank: Int { self == .low ? 0 : self == .medium ? 1 : 2 }
    public static func < (a: RiskBand, b: RiskBand) -> Bool { a.rank < b.rank }

    /// Parses "low", "MEDIUM"...
    public init?(name: String) { self.init(rawValue: name.uppercased()) }
}

/// What risk assessment needs from one trial.
public struct TrialSummary: Sendable, Equatable {
    public var defence: String
    public var attack: String
    public var applicable: Bool
    public var note: String?
    /// Images behind the update, images rebuilt (SSIM at or above the success threshold), labels recovered.
    public var images: Int
    public var successes: Int
    public var labelsRecovered: Int
    public var meanSSIM: Double?
    public var maxSSIM: Double?
    /// SNR of the defended update (infinity without noise).
    public var snr: Double
    public var epsilon: Double?
    /// Means over the trial's images (PSNR capped as `CellStatistics` defines), and the attack's seconds.
    public var meanMSE: Double? = nil
    public var meanPSNR: Double? = nil
    public var seconds: Double = 0
    /// Whether the attack recovered any label (iDLG's rule does; an attack may recover none).
    public var infersLabels: Bool = true
    /// Re-identification, prior-guess and convergence counters (nil for trials logged before they were measured).
    public var evidence: LeakageEvidence? = nil

    /// The trial as a cell of one (`CellStatistics`).
    public var statistics: CellStatistics {
        CellStatistics(images: images, successes: successes, labelsRecovered: labelsRecovered, infersLabels: infersLabels,
                       meanSSIM: meanSSIM, maxSSIM: maxSSIM, meanMSE: meanMSE, meanPSNR: meanPSNR, seconds: seconds, applicable: applicable,
                       evidence: evidence)
    }

    public init(defence: String, attack: String, applicable: Bool = true, note: String? = nil, images: Int, successes: Int,
                labelsRecovered: Int, meanSSIM: Double?, maxSSIM: Double?, snr: Double = .infinity, epsilon: Double? = nil) {
        self.defence = defence; self.attack = attack; self.applicable = applicable; self.note = note; self.images = images
        self.successes = successes; self.labelsRecovered = labelsRecovered; self.meanSSIM = meanSSIM; self.maxSSIM = maxSSIM
        self.snr = snr; self.epsilon = epsilon
    }

    public init(_ t: TrialRecord) {
        self.init(defence: t.defence, attack: t.attack, applicable: t.applicable, note: t.note, images: t.images,
                  successes: t.successes, labelsRecovered: t.labelsRecovered, meanSSIM: t.ssim, maxSSIM: t.maxSSIM,
                  snr: t.effect.snr, epsilon: t.effect.epsilon)
        meanMSE = t.mse; meanPSNR = t.psnr; seconds = t.seconds
        infersLabels = t.recoveredLabels.contains { $0 != nil }
        evidence = t.leakageEvidence
    }
}

/// One attack against one defence setting, over all samples.
public struct AttackRisk: Codable, Sendable, Equatable {
    public var attack: String
    public var trials: Int
    /// Trials where the attack applied (e.g. analytic needs a fully connected first layer).
    public var applicableTrials: Int
    public var images: Int
    /// Attack success rate: images rebuilt / images attacked.
    public var asr: Double
    public var meanSSIM: Double
    public var maxSSIM: Double
    /// Fraction of true labels the attack recovered.
    public var labelLeakage: Double
    /// nil when the attack never applied.
    public var band: RiskBand?
    public var note: String?
    /// Every per-cell figure, defined once (`CellStatistics`); the fields above are read from it.
    public var statistics: CellStatistics? = nil

    /// The counters behind re-identification, RDLV and convergence (empty when not measured).
    public var evidence: LeakageEvidence { statistics?.evidence ?? LeakageEvidence() }
    /// Reconstructions that single out their patient (rank 1 by the better matcher), with the 95% interval;
    /// nil when not measured (an attack that rebuilds no image, or a log from before).
    public var reidentified: Proportion? { evidence.images > 0 ? evidence.reidentified : nil }
    /// Attack success and label leakage as counts with 95% intervals.
    public var successes: Proportion { statistics?.asrProportion ?? Proportion(Int((asr * Double(images)).rounded()), of: images) }
    public var labels: Proportion { statistics?.labelProportion ?? Proportion(Int((labelLeakage * Double(images)).rounded()), of: images) }
}

/// The verdict on one defence setting.
public struct SettingRisk: Codable, Sendable, Equatable {
    /// Canonical spec string.
    public var defence: String
    /// Human-readable description of the defence.
    public var label: String
    /// Worst band over the attacks that applied (nil when none did).
    public var band: RiskBand?
    public var attacks: [AttackRisk]
    /// Mean SNR of the defended updates (infinity without noise): higher means less noise.
    public var snr: Double
    public var epsilon: Double?
    /// Accuracy of FL training with this setting, and its drop from training without defence (nil when not measured).
    public var accuracy: Double?
    public var accuracyDrop: Double?
    /// True when the drop is shown to be within the site's budget: its 95% upper bound is (the point estimate, for runs
    /// recorded without per-image outcomes); nil when either is unknown.
    public var withinBudget: Bool?
    /// Test images right out of those tested, over every training run (nil when not measured or recorded before).
    public var accuracyProportion: Proportion? = nil
    /// The drop image by image against the run without defence, pooled over the runs, with its paired 95% interval
    /// (nil for the setting without defence, whose drop is 0 by construction, and for runs recorded before).
    public var pairedDrop: PairedDifference? = nil
    /// Training runs (seeds) behind the accuracy.
    public var utilityRuns: Int? = nil
    /// Why training with this setting (or without defence, which every drop is measured against) diverged.
    public var divergence: String? = nil
    /// When the measured drop is within the budget but its upper bound is not: the test images that would tell.
    public var testImagesNeeded: Int? = nil
    /// Whether the setting carries a formal guarantee (DP) or only a heuristic one, and why (nil in assessments made
    /// before it was declared).
    public var guarantee: DefenceGuarantee? = nil
    /// The delta of `epsilon` and `trainingEpsilon`.
    public var delta: Double? = nil
    /// Epsilon over the site's whole training as the audit declares it (`fl.rounds` updates at `fl.sample_rate`), nil
    /// when the setting is not DP or the audit does not declare `fl.rounds`.
    public var trainingEpsilon: Double? = nil
    /// The declaration behind `trainingEpsilon`: rounds, and the sampling rate used.
    public var trainingRounds: Int? = nil
    public var trainingSampleRate: Double? = nil

    /// The drop's 95% upper bound (the point estimate when no interval is known).
    public var dropUpperBound: Double? { pairedDrop?.interval?.upperBound ?? accuracyDrop }
    /// True when the measured drop is within the budget but the test set cannot show it (upper bound over it).
    public var budgetUndetermined: Bool { withinBudget == false && testImagesNeeded != nil }
    /// Highest label leakage over the attacks.
    public var labelLeakage: Double
    /// Highest re-identification rate over the attacks (nil when none was measured).
    public var reidentification: Double? {
        attacks.filter { $0.band != nil }.compactMap { $0.reidentified?.estimate }.max()
    }
    /// Plain-language lines: the band, each attack, label leakage, accuracy cost.
    public var verdict: [String]
}

/// The assessment of a whole audit.
public struct RiskReport: Codable, Sendable, Equatable {
    public var site: String
    public var settings: [SettingRisk]
    /// The defence the site declared it uses, and its band: the site's overall risk.
    public var declared: String
    public var siteRisk: RiskBand?
    /// The recommended setting (nil when no setting qualifies), and the recommendation in words.
    public var recommended: String?
    public var recommendation: String
    /// The least risky setting when none is LOW.
    public var leastRisky: String?
    /// Whether accuracy costs were measured (otherwise settings are ranked by SNR, least noise first).
    public var utilityMeasured: Bool
    public var thresholds: RiskThresholds
    /// Why `recommended` (or `leastRisky`) was chosen, as `RiskAssessment.recommend` decided it; the report
    /// words it (nil only in assessments stored before the field existed).
    public var reason: RecommendationReason? = nil
    /// Where this assessment comes from: stored when the audit finished, or assessed now (set by the store
    /// when it reads one; not part of the stored assessment).
    public var provenance: AssessmentProvenance? = nil
    /// The verdict per threat model in scope (`ThreatRisk`), in the audit's order; nil in assessments stored
    /// before threat models were assessed apart.
    public var threats: [ThreatRisk]? = nil

    /// The verdict as the lines the audit log stores when the audit finishes.
    public var records: [RecommendationRecord] {
        var out: [RecommendationRecord] = []
        out.append(RecommendationRecord(position: 0, kind: .site, setting: declared, band: siteRisk?.rawValue, text: siteSummary))
        out.append(RecommendationRecord(position: 1, kind: .recommended, setting: recommended ?? leastRisky,
                                        band: settings.first { $0.defence == (recommended ?? leastRisky) }?.band?.rawValue,
                                        text: recommendation))
        for (i, s) in settings.enumerated() {
            out.append(RecommendationRecord(position: 2 + i, kind: .setting, setting: s.defence, band: s.band?.rawValue,
                                            text: s.verdict.joined(separator: "\n")))
        }
        // One note per threat model in scope: its band at the declared setting and the settings that stop it.
        for (i, t) in (threats ?? []).enumerated() {
            out.append(RecommendationRecord(position: 2 + settings.count + i, kind: .note, setting: declared, band: t.siteRisk?.rawValue,
                                            text: t.summary(declared: declared)))
        }
        return out
    }

    /// One sentence on the site's overall risk.
    public var siteSummary: String {
        guard let s = settings.first(where: { $0.defence == declared }) else { return "The declared defence (\(declared)) was not tested." }
        guard let band = s.band else { return "Overall risk for \(site): unknown: no attack applied to the declared defence (\(declared))." }
        var text = "Overall risk for \(site): \(band.rawValue), with the defence the site declares (\(s.label))."
        if let worst = s.attacks.filter({ $0.band != nil }).max(by: { ($0.asr, $0.maxSSIM) < ($1.asr, $1.maxSSIM) }) {
            text += " \(RiskAssessment.attackSentence(worst))"
        }
        return text
    }
}

/// Where an audit's assessment comes from.
public enum AssessmentProvenance: String, Codable, Sendable, Equatable {
    /// Written once when the audit finished; what `report`, `show`, `compare` and `history` display.
    case stored
    /// The audit has not finished: assessed now from the trials recorded so far.
    case unfinished
    /// Finished by a medpfl that stored no assessment (the immutability triggers forbid adding one): assessed
    /// now, with the rules recorded in its configuration.
    case assessedNow = "assessed-now"

    /// One sentence for reports and `show`.
    public var inWords: String {
        switch self {
        case .stored: return "The assessment was stored when the audit finished."
        case .unfinished: return "The audit has not finished: this assessment covers the trials recorded so far."
        case .assessedNow: return "This audit was finished by an older medpfl that stored no assessment: it is assessed now, with the rules recorded in its configuration."
        }
    }
}

/// Why a setting was recommended, or why none was (decided once, by `RiskAssessment.recommend`).
public enum RecommendationReason: String, Codable, Sendable, Equatable, CaseIterable {
    /// LOW against every attack and, of those, the least accuracy cost within the budget.
    case cheapestLowRisk = "cheapest-low-risk"
    /// LOW against every attack and, of those, the least noise (accuracy cost not measured for them).
    case leastNoiseLowRisk = "least-noise-low-risk"
    /// LOW-risk settings exist, but none is within the accuracy budget.
    case noLowRiskWithinBudget = "no-low-risk-within-budget"
    /// No setting is LOW against every attack; the least risky is named.
    case noLowRisk = "no-low-risk"
    /// No attack applied to any setting.
    /// LOW-risk settings exist whose measured cost is within the budget, but the test set is too small to show that
    /// any is (the drop's 95% upper bound is over it); the cheapest is named with the test images that would tell.
    case budgetCannotBeTold = "budget-cannot-be-told"
    case noAttackApplied = "no-attack-applied"
}
