import Foundation
import NN
import Tensor

/// Labels read from an update, before any image is reconstructed.
///
/// Batch 1 (iDLG, Zhao et al. 2020): with softmax cross-entropy, row c of dL/dW_last is (p_c - y_c) h,
/// and the features h are non-negative after a sigmoid or ReLU, so only the true class's row sums to a
/// negative value: the label is the row with the smallest sum (exact for such models).
///
/// Batch B (after LLG+, Wainakh et al. 2022): the last layer's bias gradient is
/// db_c = mean_b p_bc - n_c / B, where n_c counts class c in the batch. The attacker knows the weights,
/// so it estimates mean_b p_bc by the model's mean softmax on random inputs, sets
/// n_c ~ B (pbar_c - db_c), and hands out the B labels greedily to the largest estimates (a class
/// may appear several times). Without a bias it falls back to the most negative weight-row sums.
public enum LabelInference {
    public static func infer(_ p: AttackProblem, seed: UInt64 = 0x1abe1) -> [Int] {
        let w = p.update[p.model.classifierWeight]
        if p.batchSize == 1 { return [rowSums(w).enumerated().min { $0.element < $1.element }!.offset] }
        guard let biasIndex = p.model.classifierBias, p.model.parameters[biasIndex].shape == [w.shape[0]] else {
            return fromRowSums(w, batchSize: p.batchSize)
        }
        let db = p.update[biasIndex].scalars.map(Double.init)
        let pbar = meanPrediction(p, seed: seed)
        var estimate = (0..<db.count).map { Double(p.batchSize) * (pbar[$0] - db[$0]) }
        var labels: [Int] = []
        for _ in 0..<p.batchSize {
            let c = estimate.enumerated().max { $0.element < $1.element }!.offset
            labels.append(c)
            estimate[c] -= 1
        }
        return labels.sorted()
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
