import Foundation
import NN
import Tensor

/// Exact recovery when the first layer is fully connected (batch 1): for y = W x + b,
/// dL/dW[i, :] = dL/db[i] * x, so x = dL/dW[i, :] / dL/db[i] for any row with a non-zero bias
/// gradient (the row with the largest |dL/db[i]| is used, for the least rounding).
enum AnalyticAttack {
    static func run(_ p: AttackProblem, started: Date) throws -> AttackResult {
        guard let (wi, bi) = p.model.firstLinear else {
            return notApplicable(p, "the first layer of \(p.model.name) is not fully connected", started)
        }
        guard p.batchSize == 1 else {
            return notApplicable(p, "analytic recovery is exact only for batch 1 (the update mixes \(p.batchSize) images)", started)
        }
        let gw = p.update[wi].scalars, gb = p.update[bi].scalars
        let features = p.update[wi].shape[1]
        guard let row = gb.indices.max(by: { abs(gb[$0]) < abs(gb[$1]) }), gb[row] != 0 else {
            return notApplicable(p, "every bias gradient of the first layer is zero", started)
        }
        let x = (0..<features).map { gw[row * features + $0] / gb[row] }
        let images = Tensor(shape: p.imageShape, data: x).clamp(min: 0, max: 1)
        return AttackResult(kind: .analytic, applicable: true, note: "recovered from row \(row) of the first layer",
                            images: images, labels: Attack.inferLabels(p), iterations: 0, evaluations: 0,
                            finalLoss: 0, seconds: Date().timeIntervalSince(started))
    }

    static func notApplicable(_ p: AttackProblem, _ why: String, _ started: Date) -> AttackResult {
        AttackResult(kind: .analytic, applicable: false, note: "not applicable: \(why)", images: Tensor.zeros(p.imageShape),
                     labels: [], iterations: 0, evaluations: 0, finalLoss: .nan, seconds: Date().timeIntervalSince(started))
    }
}
