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
}

public enum Scoring {
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
        var pairing = Array(0..<b)
        if b > 1 {
            let s = rec.map { r in orig.map { o in ssim(o, r, channels: shape[0], height: shape[1], width: shape[2]) } }
            let assign = bestAssignment(s)       // reconstruction -> original
            for (r, o) in assign.enumerated() where o >= 0 { pairing[o] = r }
        }
        // Recovered labels are compared as a multiset for batches (their order is arbitrary).
        var pool = result.labels
        return (0..<b).map { o in
            let r = pairing[o]
            let sc = Metrics.score(reference: orig[o], candidate: rec[r], channels: shape[0], height: shape[1], width: shape[2], threshold: threshold)
            var recovered: Int? = nil
            if b == 1 { recovered = result.labels.first }
            else if let k = pool.firstIndex(of: labels[o]) { recovered = pool.remove(at: k) }
            else if !pool.isEmpty { recovered = pool.removeFirst() }
            return ScoredSample(original: o, reconstruction: r, trueLabel: labels[o], recoveredLabel: recovered, score: sc)
        }
    }
}
