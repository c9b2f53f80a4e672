import Foundation
import Tensor

/// Inverting Gradients (Geiping et al. 2020): 1 - cosine similarity between the concatenated updates
/// plus a total-variation prior, Adam on signed gradients in the [0, 1] box with MultiStepLR.
/// Labels come from the iDLG rule (the attacker is not told them).
enum GradInv {
    static func run(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        let labels = Attack.inferLabels(p)
        let x0 = start?.images ?? initialImages(c.initialization, shape: p.imageShape, rng: &rng)
        let m = GradientMatching(model: p.model, state: p.state, bn: p.bn, target: p.update, distance: .cosine,
                                 tvWeight: Float(c.tvWeight), labels: .known(labels))
        return (try MatchingOptimisation(matching: m, config: c, progress: progress).adam(x0: x0), labels)
    }
}
