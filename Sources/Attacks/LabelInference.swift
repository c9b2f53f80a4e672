import Foundation
import NN
import Tensor

/// Labels read from an update, before any image is reconstructed.
///
/// Batch 1 (iDLG, Zhao et al. 2020): with softmax cross-entropy, row c of dL/dW_last is (p_c - y_c) h,
/// and the features h are non-negative after a sigmoid or ReLU, so only the true class's row sums to a
/// negative value: the label is the row with the smallest sum (exact for such models).
///
/// Batch B: iLRG (Ma et al. 2023) restores the batch's label counts from the last layer's weight and bias
/// gradients (`LabelRestoration`); where the classifier has no bias, LLG+ (Wainakh et al. 2022) and then the
/// most negative weight-row sums. A batch's labels are a multiset: their order is not known.
public enum LabelInference {
    /// Batch 1: the iDLG rule; batch > 1: iLRG (`LabelRestoration`) for models without batch norm, LLG+ for
    /// models with it, by what was measured on the bundled images (README, "Batch label restoration"): on
    /// untrained `resnet18-cifar` (BN) iLRG restored 0.625 / 0.81 / 0.84 of the labels at batch 8 / 32 / 128 and
    /// LLG+ 1.0 / 1.0 / 0.98; on `cnn7` both 1.0; on `lenet` iLRG 1.0 and LLG+ 0.94 at batch 32. The rule reads only
    /// the model, never the labels.
    public static func infer(_ p: AttackProblem, seed: UInt64 = 0x1abe1) -> [Int] {
        let w = p.update[p.model.classifierWeight]
        if p.batchSize == 1 { return [rowSums(w).enumerated().min { $0.element < $1.element }!.offset] }
        return LabelRestoration.restore(p, method: .auto, seed: seed)
    }

    /// The model's mean softmax output on 16 random U[0,1] images (what an attacker can compute).
    static func meanPrediction(_ p: AttackProblem, seed: UInt64) -> [Double] {
        GradMode.withoutGrad {
            var rng = SeededGenerator(seed: seed)
            let n = 16
            let x = Tensor.uniform([n] + p.model.inputShape, using: &rng)
            let probs = p.model.forward(x, params: p.state.parameters, buffers: p.state.buffers, bn: p.bn).logits.softmax().scalars
            let k = p.model.classes
            return (0..<k).map { c in (0..<n).reduce(0.0) { $0 + Double(probs[$1 * k + c]) } / Double(n) }
        }
    }

    static func rowSums(_ g: Tensor) -> [Double] {
        let rows = g.shape[0], cols = g.shape[1], v = g.scalars
        return (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(v[r * cols + $1]) } }
    }

    static func fromRowSums(_ g: Tensor, batchSize: Int) -> [Int] {
        let sums = rowSums(g)
        let order = sums.indices.sorted { sums[$0] < sums[$1] }
        var negative = order.filter { sums[$0] < 0 }
        if negative.isEmpty { negative = [order[0]] }
        return (0..<batchSize).map { negative[$0 % negative.count] }
    }
}
