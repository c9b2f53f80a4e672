import Foundation
import Tensor

/// Labels from the gradient of the last fully connected layer (iDLG, Zhao et al. 2020).
///
/// With softmax cross-entropy, row c of dL/dW_last is (p_c - y_c) * h averaged over the batch, and the
/// features h are non-negative after a sigmoid or ReLU: only the rows of classes present in the batch
/// sum to a negative value. Batch 1: the label is the row with the smallest sum. Batch B: the classes
/// with a negative row sum, most negative first; if fewer than B, they are repeated in that order
/// (a class can appear several times in a batch); if more, the B most negative.
public enum LabelInference {
    public static func infer(lastLayerGradient g: Tensor, batchSize: Int) -> [Int] {
        precondition(g.rank == 2)
        let rows = g.shape[0], cols = g.shape[1]
        let v = g.scalars
        var sums = [Double](repeating: 0, count: rows)
        for r in 0..<rows { var s = 0.0; for c in 0..<cols { s += Double(v[r * cols + c]) }; sums[r] = s }
        let order = (0..<rows).sorted { sums[$0] < sums[$1] }
        if batchSize == 1 { return [order[0]] }
        var negative = order.filter { sums[$0] < 0 }
        if negative.isEmpty { negative = [order[0]] }
        return (0..<batchSize).map { negative[$0 % negative.count] }
    }
}
