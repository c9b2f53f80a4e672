import Foundation

/// Re-identification: can a reconstruction single out its patient among the site's images, even when it is
/// far from pixel-perfect? The attacker, holding a reconstruction, ranks every image of a reference pool by
/// similarity to it; the rank of the true image is what this measures (GradInversion's image identifiability,
/// the radiograph re-identification of Packhäuser et al., 2022).
///
/// Rank convention: 1 + the number of *other* pool images scoring at least as high as the true one. A tie
/// counts against the attacker: a reconstruction equally close to several images (a flat grey image, say)
/// singles out none of them, and must not be counted as re-identified.
public enum Reidentification {
    /// The rank of `trueScore` among the others' scores (higher = more similar).
    public static func rank(trueScore: Double, others: [Double]) -> Int {
        guard trueScore.isFinite else { return others.count + 1 }
        return 1 + others.reduce(0) { $0 + ($1 >= trueScore || $1.isNaN ? 1 : 0) }
    }

    /// Cosine similarity of two feature vectors (0 when either is zero).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "feature vectors of \(a.count) and \(b.count) values")
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i])
            dot += x * y; na += x * x; nb += y * y
        }
        let d = (na * nb).squareRoot()
        return d > 0 ? dot / d : 0
    }

    /// NVFlare's relative data leakage value: (SSIM(reconstruction) − SSIM(prior)) / SSIM(prior), the gain of the
    /// attack over a guess that uses no update. Not defined (nil) when the prior's SSIM is below `minimumPrior`
    /// (0.05), where the ratio says nothing.
    public static func rdlv(reconstruction: Double, prior: Double, minimumPrior: Double = 0.05) -> Double? {
        guard prior >= minimumPrior, reconstruction.isFinite else { return nil }
        return (reconstruction - prior) / prior
    }
}
