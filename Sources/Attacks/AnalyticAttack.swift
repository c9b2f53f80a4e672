import Foundation
import NN
import Tensor

/// Exact recovery when the first layer is fully connected (batch 1): for y = W x + b,
/// dL/dW[i, :] = dL/db[i] * x, so x = dL/dW[i, :] / dL/db[i] for any row with a non-zero bias
/// gradient (the row with the largest |dL/db[i]| is used, for the least rounding).
enum AnalyticAttack: AttackMethod {
    static let key = "analytic"
    static let differentiatesGradient = false
    static let displayName = "Analytic recovery"
    static let citation = "Phong et al. 2018, Privacy-Preserving Deep Learning via Additively Homomorphic Encryption, IEEE TIFS"
    static let threatModel = ThreatModel.honestButCurious
    static var defaults: AttackConfig {
        AttackConfig(kind: AttackKind(registered: key), iterations: 0, maxIterPerStep: 0, learningRate: 0, initialization: .zeros,
                     restarts: 1, tvWeight: 0, earlyStopLoss: nil, signedGradients: false)
    }
    static let parameters: [AttackParameter] = []

    static func inapplicability(model: Model, batchSize: Int) -> String? {
        guard model.firstLinear != nil else { return "the first layer of \(model.name) is not fully connected" }
        guard batchSize == 1 else { return "analytic recovery is exact only for batch 1 (the update mixes \(batchSize) images)" }
        return nil
    }

    static func describe(_ config: AttackConfig) -> String {
        "exact, in closed form from the gradients of a fully connected first layer (batch of one)"
    }

    static func summary(_ config: AttackConfig) -> String { "exact recovery when the first layer is fully connected" }

    static func run(_ config: AttackConfig, on p: AttackProblem, seed: UInt64, start: AttackStart?,
                    progress: AttackProgress?) throws -> AttackResult {
        let started = Date()
        if let why = inapplicability(model: p.model, batchSize: p.batchSize) { return notApplicable(p, why, started) }
        let (wi, bi) = p.model.firstLinear!
        let gw = p.update[wi].scalars, gb = p.update[bi].scalars
        let features = p.update[wi].shape[1]
        guard let row = gb.indices.max(by: { abs(gb[$0]) < abs(gb[$1]) }), gb[row] != 0 else {
            return notApplicable(p, "every bias gradient of the first layer is zero", started)
        }
        let x = (0..<features).map { gw[row * features + $0] / gb[row] }
        // The first layer sees the normalised input: back to pixel space.
        let seen = Tensor(shape: p.imageShape, data: x)
        let images = (p.model.inputNormalization.map { $0.invert(seen) } ?? seen).clamp(min: 0, max: 1)
        return AttackResult(kind: .analytic, applicable: true, note: "recovered from row \(row) of the first layer",
                            images: images, labels: Attack.inferLabels(p), iterations: 0, evaluations: 0,
                            finalLoss: 0, seconds: Date().timeIntervalSince(started))
    }

    static func notApplicable(_ p: AttackProblem, _ why: String, _ started: Date) -> AttackResult {
        AttackResult(kind: .analytic, applicable: false, note: "not applicable: \(why)", images: Tensor.zeros(p.imageShape),
                     labels: [], iterations: 0, evaluations: 0, finalLoss: .nan, seconds: Date().timeIntervalSince(started))
    }
}
