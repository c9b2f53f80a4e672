import Foundation
import Tensor

/// Improved DLG (Zhao et al. 2020): the label is read from the last layer's gradient first, then only
/// the images are optimised (L-BFGS, squared L2, N(0, 1) start).
enum IDLG: OptimisationAttack {
    static let key = "idlg"
    static let displayName = "iDLG"
    static let citation = "Zhao et al. 2020, iDLG: Improved Deep Leakage from Gradients, arXiv:2001.02610"
    static let threatModel = ThreatModel.honestButCurious
    static let optimiser = MatchingOptimiser.lbfgs
    static var defaults: AttackConfig { AttackConfig.lbfgs(key, initialization: .randn) }
    static let parameters: [AttackParameter] = DLG.parameters

    static func runStart(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        let labels = Attack.inferLabels(p)
        let x0 = start?.images ?? initialImages(c.initialization, shape: p.imageShape, rng: &rng, normalization: p.model.inputNormalization)
        let m = GradientMatching(model: p.model, state: p.state, bn: p.bn, target: p.update, distance: .squaredL2,
                                 tvWeight: Float(c.tvWeight), labels: .known(labels))
        return (try MatchingOptimisation(matching: m, config: c, progress: progress).lbfgs(x0: x0, logits0: nil), labels)
    }
}
