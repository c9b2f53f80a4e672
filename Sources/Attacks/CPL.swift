import Foundation
import Tensor

/// Wei et al. 2020 ("A Framework for Evaluating Gradient Leakage Attacks", CPL): label first by the iDLG
/// rule, a patterned initialisation (a U[0,1) 16x16 tile repeated over the image) by default, L-BFGS on
/// the images, optional early stop when the matching loss falls below a threshold.
enum CPL {
    static func run(_ p: AttackProblem, _ c: AttackConfig, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        let labels = Attack.inferLabels(p)
        let x0 = initialImages(c.initialization, shape: p.imageShape, rng: &rng)
        let m = GradientMatching(model: p.model, state: p.state, bn: p.bn, target: p.update, distance: .squaredL2,
                                 tvWeight: Float(c.tvWeight), labels: .known(labels))
        return (try MatchingOptimisation(matching: m, config: c, progress: progress).lbfgs(x0: x0, logits0: nil), labels)
    }
}
