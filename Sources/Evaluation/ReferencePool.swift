import Attacks
import Foundation
import Metrics
import NN
import Tensor

/// The images an attacker would match a reconstruction against to single out its patient: a sample of the
/// site's images (the audit's data pool, not only the attacked batch), each with the site model's
/// penultimate-layer features, and the prior guess (their pixel-wise mean image) that RDLV measures the attack
/// against. Built once per audit; read by every trial's scoring, after the attack has returned.
///
/// Identities: each pool image has an id (its index in the audit's data pool). An original whose id is in
/// the pool is ranked against the other pool images; one that is not (a secure-aggregation client drawn from
/// outside the pool) is ranked against all of them.
public struct ReferencePool: @unchecked Sendable {
    public let ids: [Int]
    /// Pixel planes [C*H*W] in [0, 1], in `ids` order.
    let images: [[Float]]
    /// Penultimate-layer features, in `ids` order (empty when the model gives none).
    let features: [[Float]]
    /// The pool's mean image (the prior guess).
    public let prior: [Float]
    /// [C, H, W].
    public let shape: [Int]
    let model: Model
    let state: ModelState
    private let position: [Int: Int]

    /// `images` [N, C, H, W] in pixel space, `ids` their identities. Features are computed in chunks of 16.
    public init(images x: Tensor, ids: [Int], model: Model, state: ModelState) throws {
        precondition(x.shape.count == 4 && x.shape[0] == ids.count, "reference pool: \(ids.count) ids for images \(x.shape)")
        let n = ids.count, shape = Array(x.shape.dropFirst()), per = shape.reduce(1, *)
        let v = x.scalars
        images = (0..<n).map { Array(v[($0 * per)..<(($0 + 1) * per)]) }
        var mean = [Float](repeating: 0, count: per)
        for im in images { for i in 0..<per { mean[i] += im[i] } }
        prior = mean.map { $0 / Float(Swift.max(n, 1)) }
        var feats: [[Float]] = []
        var start = 0
        while start < n {
            let end = Swift.min(n, start + 16)
            let chunk = x.narrowed([start..<end] + shape.map { 0..<$0 })
            feats += Self.rows(try model.features(chunk, state: state))
            start = end
        }
        features = feats
        self.ids = ids; self.shape = shape; self.model = model; self.state = state
        position = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func rows(_ t: Tensor) -> [[Float]] {
        let b = t.shape[0], d = t.count / Swift.max(b, 1), v = t.scalars
        return (0..<b).map { Array(v[($0 * d)..<(($0 + 1) * d)]) }
    }

    public var count: Int { ids.count }

    func ssim(_ a: [Float], _ b: [Float]) -> Double { Metrics.ssim(a, b, channels: shape[0], height: shape[1], width: shape[2]) }

    /// The evidence of each scored sample: the rank of its original (identity `originalIDs[s.original]`) among
    /// the pool by SSIM and by feature cosine to its reconstruction, and the prior guess's SSIM to the original.
    /// `originals` and `reconstructions` are [B, C, H, W].
    public func evidence(_ scored: [ScoredSample], originals: Tensor, reconstructions: Tensor, originalIDs: [Int]) -> [ScoredSample] {
        guard !scored.isEmpty else { return scored }
        let orig = Self.rows(originals), rec = Self.rows(reconstructions)
        let recFeatures = (try? model.features(reconstructions, state: state)).map(Self.rows)
        let origFeatures = (try? model.features(originals, state: state)).map(Self.rows)
        return scored.map { s in
            var out = s
            let r = rec[s.reconstruction], o = orig[s.original]
            let me = position[originalIDs[s.original]]
            let scores = images.map { ssim($0, r) }
            let trueSSIM = me.map { scores[$0] } ?? ssim(o, r)
            let others = scores.enumerated().filter { $0.offset != me }.map(\.element)
            var rankFeatures: Int? = nil
            if let rf = recFeatures?[s.reconstruction], !features.isEmpty, let of = origFeatures?[s.original] {
                let cos = features.map { Reidentification.cosine($0, rf) }
                let trueCos = me.map { cos[$0] } ?? Reidentification.cosine(of, rf)
                rankFeatures = Reidentification.rank(trueScore: trueCos, others: cos.enumerated().filter { $0.offset != me }.map(\.element))
            }
            out.evidence = ImageEvidence(rankSSIM: Reidentification.rank(trueScore: trueSSIM, others: others), rankFeatures: rankFeatures,
                                         pool: others.count + 1, priorSSIM: ssim(o, prior))
            return out
        }
    }
}
