import Attacks
import Foundation
import Metrics

/// What one reconstruction reveals beyond its SSIM: whether it singles out its patient among the site's images
/// (`Reidentification`) and how much better it is than a guess that uses no update.
public struct ImageEvidence: Codable, Sendable, Equatable {
    /// Rank of the true image among the reference pool by SSIM to the reconstruction (1 = re-identified).
    public let rankSSIM: Int
    /// Rank by cosine similarity of the site model's penultimate-layer features (nil when not computed).
    public let rankFeatures: Int?
    /// Images the true one was ranked among (itself included).
    public let pool: Int
    /// SSIM between the true image and the prior guess (the pool's mean image).
    public let priorSSIM: Double

    public init(rankSSIM: Int, rankFeatures: Int?, pool: Int, priorSSIM: Double) {
        self.rankSSIM = rankSSIM; self.rankFeatures = rankFeatures; self.pool = pool; self.priorSSIM = priorSSIM
    }
}

/// The counters behind a cell's re-identification, RDLV and convergence figures; cells add them (`+`).
/// Coded as these counters (the audit log's `trials.leakage_evidence`; sorted-key JSON).
public struct LeakageEvidence: Codable, Sendable, Equatable {
    /// Images with a re-identification rank, and the largest pool they were ranked in.
    public var images = 0
    public var poolSize = 0
    /// Images whose true image ranked first (top 5) by SSIM; by features (over `featureImages`); by either.
    public var rank1SSIM = 0, top5SSIM = 0
    public var featureImages = 0, rank1Features = 0, top5Features = 0
    public var rank1Either = 0, top5Either = 0
    /// Images with a prior guess, the sum of its SSIMs; images where RDLV is defined, the sum of their RDLVs.
    public var priorImages = 0, priorSSIMSum = 0.0
    public var rdlvImages = 0, rdlvSum = 0.0
    /// Attack trials whose convergence was judged, and those that were still improving (`Convergence`).
    public var judgedTrials = 0, notConverged = 0

    public init() {}

    public mutating func add(_ e: ImageEvidence, ssim: Double) {
        images += 1; poolSize = Swift.max(poolSize, e.pool)
        if e.rankSSIM == 1 { rank1SSIM += 1 }
        if e.rankSSIM <= 5 { top5SSIM += 1 }
        if let f = e.rankFeatures {
            featureImages += 1
            if f == 1 { rank1Features += 1 }
            if f <= 5 { top5Features += 1 }
        }
        let best = Swift.min(e.rankSSIM, e.rankFeatures ?? Int.max)
        if best == 1 { rank1Either += 1 }
        if best <= 5 { top5Either += 1 }
        if e.priorSSIM.isFinite { priorImages += 1; priorSSIMSum += e.priorSSIM }
        if let r = Reidentification.rdlv(reconstruction: ssim, prior: e.priorSSIM) { rdlvImages += 1; rdlvSum += r }
    }

    public mutating func add(_ c: Convergence?) {
        guard let c else { return }
        judgedTrials += 1
        if !c.converged { notConverged += 1 }
    }

    public static func + (a: LeakageEvidence, b: LeakageEvidence) -> LeakageEvidence {
        var c = a
        c.images += b.images; c.poolSize = Swift.max(a.poolSize, b.poolSize)
        c.rank1SSIM += b.rank1SSIM; c.top5SSIM += b.top5SSIM
        c.featureImages += b.featureImages; c.rank1Features += b.rank1Features; c.top5Features += b.top5Features
        c.rank1Either += b.rank1Either; c.top5Either += b.top5Either
        c.priorImages += b.priorImages; c.priorSSIMSum += b.priorSSIMSum
        c.rdlvImages += b.rdlvImages; c.rdlvSum += b.rdlvSum
        c.judgedTrials += b.judgedTrials; c.notConverged += b.notConverged
        return c
    }

    /// Re-identified (rank 1) by the attacker's better matcher for each image: the attacker may use either.
    public var reidentified: Proportion { Proportion(rank1Either, of: images) }
    public var reidentifiedTop5: Proportion { Proportion(top5Either, of: images) }
    public var rank1SSIMProportion: Proportion { Proportion(rank1SSIM, of: images) }
    public var rank1FeaturesProportion: Proportion { Proportion(rank1Features, of: featureImages) }
    /// Mean SSIM of the prior guess against the true images.
    public var meanPriorSSIM: Double? { priorImages > 0 ? priorSSIMSum / Double(priorImages) : nil }
    /// Mean RDLV over the images where it is defined (prior SSIM ≥ 0.05).
    public var meanRDLV: Double? { rdlvImages > 0 ? rdlvSum / Double(rdlvImages) : nil }
    /// Fraction of judged trials that were still improving.
    public var notConvergedRate: Double? { judgedTrials > 0 ? Double(notConverged) / Double(judgedTrials) : nil }
}
