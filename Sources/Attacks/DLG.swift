import Foundation
import Tensor

/// Deep Leakage from Gradients (Zhu et al. 2019): dummy images and dummy label logits, both N(0, 1),
/// optimised together by L-BFGS so that their update matches the intercepted one in squared L2;
/// the soft label is softmax(logits), the recovered label its arg-max.
enum DLG: OptimisationAttack {
    static let key = "dlg"
    static let displayName = "DLG"
    static let citation = "Zhu et al. 2019, Deep Leakage from Gradients, NeurIPS"
    static let threatModel = ThreatModel.honestButCurious
    static let optimiser = MatchingOptimiser.lbfgs
    static let optimisesLabels = true
    /// Zhu et al.'s code: torch L-BFGS (lr 1, max_iter 20), 300 steps, randn start (plus the restart rule).
    static var defaults: AttackConfig { AttackConfig.lbfgs(key, initialization: .randn) }
    static let parameters: [AttackParameter] = [.iterations("L-BFGS steps."), .maxIter, .learningRate, .initialization,
                                                .totalVariation, .earlyStop] + AttackParameter.starts

    static func runStart(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        let x0: Tensor
        if let x = start?.images { x0 = x } else { x0 = initialImages(c.initialization, shape: p.imageShape, rng: &rng, normalization: p.model.inputNormalization) }
        let l0: Tensor
        if let l = start?.logits { l0 = l } else { l0 = Tensor.randn([p.batchSize, p.model.classes], using: &rng) }
        let m = GradientMatching(model: p.model, state: p.state, bn: p.bn, target: p.update, distance: .squaredL2,
                                 tvWeight: Float(c.tvWeight), labels: .soft)
        let o = try MatchingOptimisation(matching: m, config: c, progress: progress).lbfgs(x0: x0, logits0: l0)
        let logits = o.logits!.scalars, k = p.model.classes
        let labels = (0..<p.batchSize).map { b in (0..<k).max { logits[b * k + $0] < logits[b * k + $1] }! }
        return (o, labels)
    }
}
