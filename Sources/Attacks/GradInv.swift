import Foundation
import Tensor

/// Inverting Gradients (Geiping et al. 2020): 1 - cosine similarity between the concatenated updates
/// plus a total-variation prior, Adam on signed gradients in the [0, 1] box with MultiStepLR.
/// Labels come from the iDLG rule (the attacker is not told them).
enum GradInv: OptimisationAttack {
    static let key = "gradinv"
    static let displayName = "Inverting Gradients"
    static let citation = "Geiping et al. 2020, Inverting Gradients: How easy is it to break privacy in federated learning?, NeurIPS"
    static let threatModel = ThreatModel.honestButCurious
    static let optimiser = MatchingOptimiser.adam
    /// Geiping et al. 2020: cosine + TV 1e-1, Adam lr 0.1 on signed gradients, boxed after each step,
    /// MultiStepLR at n // 2.667, n // 1.6, n // 1.142 (~3/8, 5/8, 7/8) with gamma 0.1, 4800 iterations
    /// (the paper's ResNet setting: 24000 x 8 restarts).
    static var defaults: AttackConfig {
        AttackConfig(kind: AttackKind(registered: key), iterations: 4800, maxIterPerStep: 1, learningRate: 0.1, initialization: .randn,
                     restarts: 1, tvWeight: 0.1, earlyStopLoss: nil, signedGradients: true, restartPolicy: .always)
    }
    static let parameters: [AttackParameter] = [.iterations("Adam iterations."), .learningRate, .initialization, .totalVariation,
                                                .earlyStop] + AttackParameter.starts

    static func runStart(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        let labels = Attack.inferLabels(p)
        let x0 = start?.images ?? initialImages(c.initialization, shape: p.imageShape, rng: &rng, normalization: p.model.inputNormalization)
        let m = GradientMatching(model: p.model, state: p.state, bn: p.bn, target: p.update, distance: .cosine,
                                 tvWeight: Float(c.tvWeight), labels: .known(labels))
        return (try MatchingOptimisation(matching: m, config: c, progress: progress).adam(x0: x0), labels)
    }
}
