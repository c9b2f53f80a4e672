import Foundation
import Attacks
import Metrics
import Tensor

/// How one reconstruction compares with the images behind the update. Computed only after the attack
/// has finished: the ground truth never influences which reconstruction is reported.
public struct ScoredSample: Codable, Sendable {
    /// Index of the original image (within the attacked batch).
    public let original: Int
    /// Index of the reconstruction paired with it (Hungarian matching on SSIM for batches).
    public let reconstruction: Int
    public let trueLabel: Int
    public let recoveredLabel: Int?
    public let score: ReconstructionScore
    /// Re-identification rank and prior guess (`ReferencePool.evidence`); nil when no pool was given or the
    /// attack rebuilds no image.
    public var evidence: ImageEvidence? = nil

    public init(original: Int, reconstruction: Int, trueLabel: Int, recoveredLabel: Int?, score: ReconstructionScore, evidence: ImageEvidence? = nil) {
        self.original = original; self.reconstruction = reconstruction; self.trueLabel = trueLabel
        self.recoveredLabel = recoveredLabel; self.score = score; self.evidence = evidence
    }
}

public enum Scoring {
    /// The smallest image side that can be scored: SSIM's 11 x 11 Gaussian window must fit (as in scikit-image).
    public static let minimumSide = 11

    /// Refuses an input shape [C, H, W] too small to score, before any work is done.
    public static func requireScorable(_ shape: [Int]) throws {
        guard shape.count == 3, shape[1] >= minimumSide, shape[2] >= minimumSide else {
            throw ScoringError("the model takes \(shape.dropFirst().map(String.init).joined(separator: "x")) images, smaller than SSIM's "
                               + "\(minimumSide)x\(minimumSide) window: reconstructions could not be scored (use an input of at least \(minimumSide) pixels)")
        }
    }
    /// Pairs reconstructions with originals by the assignment that maximises total SSIM, then scores.
    /// `originals` and `reconstructions` are [B, 3, H, W].
    public static func score(originals: Tensor, labels: [Int], result: AttackResult, threshold: Double) -> [ScoredSample] {
        let b = originals.shape[0]
        let per = originals.count / b
        let shape = Array(originals.shape.dropFirst())
        func image(_ t: Tensor, _ i: Int) -> [Float] { Array(t.scalars[(i * per)..<((i + 1) * per)]) }
        let orig = (0..<b).map { image(originals, $0) }
        let rb = result.images.shape[0]
        let rec = (0..<rb).map { image(result.images, $0) }
        // An attack that rebuilds no image (labels only) is scored as such: no pairing by SSIM, SSIM 0, not rebuilt.
        let imageless = !result.kind.method.reconstructsImages
        var pairing = Array(0..<b)
        if b > 1 && !imageless {
            let s = rec.map { r in orig.map { o in ssim(o, r, channels: shape[0], height: shape[1], width: shape[2]) } }
            let assign = bestAssignment(s)       // reconstruction -> original
            for (r, o) in assign.enumerated() where o >= 0 { pairing[o] = r }
        }
        // Recovered labels are compared as a multiset for batches (their order is arbitrary).
        var pool = result.labels
        return (0..<b).map { o in
            let r = pairing[o]
            var sc = Metrics.score(reference: orig[o], candidate: rec[r], channels: shape[0], height: shape[1], width: shape[2], threshold: threshold)
            if imageless { sc = ReconstructionScore(mse: sc.mse, psnr: sc.psnr, ssim: 0, success: false) }
            var recovered: Int? = nil
            if b == 1 { recovered = result.labels.first }
            else if let k = pool.firstIndex(of: labels[o]) { recovered = pool.remove(at: k) }
            else if !pool.isEmpty { recovered = pool.removeFirst() }
            return ScoredSample(original: o, reconstruction: r, trueLabel: labels[o], recoveredLabel: recovered, score: sc)
        }
    }
}

/// A reconstruction that cannot be scored (one line).
public struct ScoringError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
