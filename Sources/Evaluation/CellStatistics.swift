import Attacks
import Foundation
import Metrics

/// The statistics of a group of scored reconstructions (one cell of an audit: an attack at a setting, or
/// one `medpfl attack` run), defined once: the CLI's JSON, the audit log's trial rows, the risk model and
/// the report all read these. Cells merge by adding (`+`), so a cell is the sum of its trials.
///
/// PSNR: an exact reconstruction has an infinite PSNR, which would make every mean it enters infinite. Each
/// image's PSNR counts at most `psnrCap` (100 dB, an MSE of 1e-10: far below one 16-bit grey level), so a
/// mean PSNR is finite and an exact image counts as 100 dB.
public struct CellStatistics: Sendable, Equatable, Codable {
    public static let psnrCap = 100.0

    /// Images scored (applicable trials only).
    public private(set) var images = 0
    /// Images rebuilt (SSIM at or above the success threshold).
    public private(set) var successes = 0
    /// Images whose label the attack recovered.
    public private(set) var labelsRecovered = 0
    /// Whether the attack recovered any label at all (an attack that infers none has no label leakage).
    public private(set) var infersLabels = false
    public private(set) var maxSSIM: Double? = nil
    /// Seconds the attacks took (applicable or not).
    public private(set) var seconds = 0.0
    /// Images attacked, applicable or not (for seconds per image).
    public private(set) var imagesAttacked = 0
    private var ssimSum = 0.0, mseSum = 0.0, psnrSum = 0.0
    /// Re-identification, gain over a blind guess and convergence (`LeakageEvidence`).
    public var evidence = LeakageEvidence()

    public init() {}

    /// The cell of one attacked update's scored images and the attack's seconds.
    public init(scored: [ScoredSample], seconds: Double, convergence: Convergence? = nil) {
        for s in scored {
            add(s.score, trueLabel: s.trueLabel, recoveredLabel: s.recoveredLabel)
            if let e = s.evidence { evidence.add(e, ssim: s.score.ssim) }
        }
        // A trial that rebuilt every image cannot be riskier with a larger budget: its convergence is not judged.
        if !(scored.allSatisfy(\.score.success) && !scored.isEmpty) { evidence.add(convergence) }
        self.seconds = seconds
        imagesAttacked = scored.count
    }

    /// Attack success (images rebuilt) with its 95% Wilson interval.
    public var asrProportion: Proportion { Proportion(successes, of: images) }
    /// Labels recovered with its 95% Wilson interval.
    public var labelProportion: Proportion { Proportion(labelsRecovered, of: images) }

    /// A trial as the audit log stores it: its counts and its means over `images` images. `applicable: false`
    /// contributes its time only.
    public init(images: Int, successes: Int, labelsRecovered: Int, infersLabels: Bool, meanSSIM: Double?, maxSSIM: Double?,
                meanMSE: Double?, meanPSNR: Double?, seconds: Double, applicable: Bool, evidence: LeakageEvidence? = nil) {
        self.seconds = seconds
        imagesAttacked = images
        guard applicable else { return }
        self.evidence = evidence ?? LeakageEvidence()
        self.images = images; self.successes = successes; self.labelsRecovered = labelsRecovered
        self.infersLabels = infersLabels; self.maxSSIM = maxSSIM
        let n = Double(images)
        ssimSum = (meanSSIM ?? 0) * n; mseSum = (meanMSE ?? 0) * n
        // Logs written before the cap hold a trial's raw mean PSNR (infinite when an image was exact).
        psnrSum = Swift.min(meanPSNR ?? 0, Self.psnrCap) * n
    }

    /// A cell with no scored image, only the time an attack took on `images` images (not applicable, or
    /// nothing to score against).
    public static func timeOnly(images: Int, seconds: Double) -> CellStatistics {
        CellStatistics(images: images, successes: 0, labelsRecovered: 0, infersLabels: false, meanSSIM: nil, maxSSIM: nil,
                       meanMSE: nil, meanPSNR: nil, seconds: seconds, applicable: false)
    }

    /// Adds one scored image; its label counts as recovered when the attack's label is the true one.
    public mutating func add(_ s: ReconstructionScore, trueLabel: Int, recoveredLabel: Int?) {
        add(s, labelRecovered: recoveredLabel == trueLabel, labelInferred: recoveredLabel != nil)
    }

    public mutating func add(_ s: ReconstructionScore, labelRecovered: Bool, labelInferred: Bool) {
        images += 1
        if s.success { successes += 1 }
        if labelRecovered { labelsRecovered += 1 }
        if labelInferred { infersLabels = true }
        ssimSum += s.ssim; mseSum += s.mse; psnrSum += Self.capped(s.psnr)
        maxSSIM = Swift.max(maxSSIM ?? -.infinity, s.ssim)
    }

    public static func capped(_ psnr: Double) -> Double { psnr.isNaN ? psnr : Swift.min(psnr, psnrCap) }

    public static func + (a: CellStatistics, b: CellStatistics) -> CellStatistics {
        var c = a
        c.images += b.images; c.successes += b.successes; c.labelsRecovered += b.labelsRecovered
        c.infersLabels = a.infersLabels || b.infersLabels
        c.maxSSIM = [a.maxSSIM, b.maxSSIM].compactMap { $0 }.max()
        c.seconds += b.seconds; c.imagesAttacked += b.imagesAttacked
        c.ssimSum += b.ssimSum; c.mseSum += b.mseSum; c.psnrSum += b.psnrSum
        c.evidence = a.evidence + b.evidence
        return c
    }

    /// The sum of several cells.
    public static func sum<S: Sequence>(_ cells: S) -> CellStatistics where S.Element == CellStatistics {
        cells.reduce(CellStatistics(), +)
    }

    private func mean(_ sum: Double) -> Double? { images > 0 ? sum / Double(images) : nil }
    /// Attack success rate: images rebuilt / images scored.
    public var asr: Double? { mean(Double(successes)) }
    public var meanSSIM: Double? { mean(ssimSum) }
    public var meanMSE: Double? { mean(mseSum) }
    /// Mean of the images' PSNRs, each capped at `psnrCap`.
    public var meanPSNR: Double? { mean(psnrSum) }
    /// Labels recovered / images scored.
    public var labelLeakage: Double? { mean(Double(labelsRecovered)) }
    /// Seconds per attacked image.
    public var secondsPerImage: Double { seconds / Double(Swift.max(imagesAttacked, 1)) }

    enum CodingKeys: String, CodingKey {
        case images, successes, labelsRecovered, infersLabels, maxSSIM, seconds, imagesAttacked
        case asr, meanSSIM, meanMSE, meanPSNR, labelLeakage, secondsPerImage
        case evidence, attackSuccess, labels, reidentified, reidentifiedTop5, reidentifiedBySSIM, reidentifiedByFeatures
        case meanPriorSSIM, meanRDLV, notConverged, poolSize
    }

    /// Coded as its counts and figures (the means, not the sums behind them).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(images, forKey: .images); try c.encode(successes, forKey: .successes)
        try c.encode(labelsRecovered, forKey: .labelsRecovered); try c.encode(infersLabels, forKey: .infersLabels)
        try c.encodeIfPresent(maxSSIM, forKey: .maxSSIM); try c.encode(seconds, forKey: .seconds)
        try c.encode(imagesAttacked, forKey: .imagesAttacked)
        try c.encodeIfPresent(asr, forKey: .asr); try c.encodeIfPresent(meanSSIM, forKey: .meanSSIM)
        try c.encodeIfPresent(meanMSE, forKey: .meanMSE); try c.encodeIfPresent(meanPSNR, forKey: .meanPSNR)
        try c.encodeIfPresent(labelLeakage, forKey: .labelLeakage); try c.encode(secondsPerImage, forKey: .secondsPerImage)
        // The raw counters (read back by `init(from:)`), then the figures with their 95% intervals.
        try c.encode(evidence, forKey: .evidence)
        try c.encode(asrProportion, forKey: .attackSuccess); try c.encode(labelProportion, forKey: .labels)
        let e = evidence
        if e.images > 0 {
            try c.encode(e.reidentified, forKey: .reidentified); try c.encode(e.reidentifiedTop5, forKey: .reidentifiedTop5)
            try c.encode(e.rank1SSIMProportion, forKey: .reidentifiedBySSIM)
            if e.featureImages > 0 { try c.encode(e.rank1FeaturesProportion, forKey: .reidentifiedByFeatures) }
            try c.encode(e.poolSize, forKey: .poolSize)
        }
        try c.encodeIfPresent(e.meanPriorSSIM, forKey: .meanPriorSSIM); try c.encodeIfPresent(e.meanRDLV, forKey: .meanRDLV)
        if e.judgedTrials > 0 { try c.encode(Proportion(e.notConverged, of: e.judgedTrials), forKey: .notConverged) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        images = try c.decode(Int.self, forKey: .images); successes = try c.decode(Int.self, forKey: .successes)
        labelsRecovered = try c.decode(Int.self, forKey: .labelsRecovered); infersLabels = try c.decode(Bool.self, forKey: .infersLabels)
        maxSSIM = try c.decodeIfPresent(Double.self, forKey: .maxSSIM); seconds = try c.decode(Double.self, forKey: .seconds)
        imagesAttacked = try c.decode(Int.self, forKey: .imagesAttacked)
        let n = Double(images)
        ssimSum = (try c.decodeIfPresent(Double.self, forKey: .meanSSIM) ?? 0) * n
        mseSum = (try c.decodeIfPresent(Double.self, forKey: .meanMSE) ?? 0) * n
        psnrSum = (try c.decodeIfPresent(Double.self, forKey: .meanPSNR) ?? 0) * n
        evidence = try c.decodeIfPresent(LeakageEvidence.self, forKey: .evidence) ?? LeakageEvidence()
    }

    /// Two cells are equal when they describe the same reconstructions; the time they took is a measurement
    /// of the machine, not a result, and is not compared (a sharded and an unsharded run are equal).
    public static func == (a: CellStatistics, b: CellStatistics) -> Bool {
        a.images == b.images && a.successes == b.successes && a.labelsRecovered == b.labelsRecovered
            && a.infersLabels == b.infersLabels && a.maxSSIM == b.maxSSIM && a.imagesAttacked == b.imagesAttacked
            && a.ssimSum == b.ssimSum && a.mseSum == b.mseSum && a.psnrSum == b.psnrSum && a.evidence == b.evidence
    }
}
