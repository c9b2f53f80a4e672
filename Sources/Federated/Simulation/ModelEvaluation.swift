import Foundation
import NN
import Tensor

/// Test accuracy of a model on part of a data set.
public enum ModelEvaluation {
    /// Predictions on part of a data set.
    public struct Outcome: Sendable, Codable, Equatable {
        /// Fraction of arg-max predictions equal to the label (NaN for no images).
        public var accuracy: Double
        /// Mean cross-entropy (NaN for no images).
        public var loss: Double
        /// counts[true label][predicted label].
        public var confusion: [[Int]]
        /// Per image of `indices`, in order: predicted right (an image whose logits are not finite counts as wrong).
        public var correct: [Bool] = []
    }

    /// Accuracy, mean cross-entropy and confusion counts over `indices`, in batches of `batchSize`,
    /// without recording a graph.
    public static func evaluate(model: Model, state: ModelState, dataset: FederatedDataset, indices: [Int],
                                bn: BNMode, batchSize: Int = 64) -> Outcome {
        let k = dataset.classes.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        guard !indices.isEmpty else { return Outcome(accuracy: .nan, loss: .nan, confusion: confusion) }
        var correct = 0, lossSum = 0.0
        var right: [Bool] = []
        right.reserveCapacity(indices.count)
        GradMode.withoutGrad {
            for start in stride(from: 0, to: indices.count, by: batchSize) {
                let part = Array(indices[start..<min(start + batchSize, indices.count)])
                let (x, y) = dataset.batch(part)
                let logits = model.forward(x, params: state.parameters, buffers: state.buffers, bn: bn).logits
                lossSum += Double(crossEntropy(logits, labels: y).scalar) * Double(part.count)
                let v = logits.scalars, c = logits.shape[1]
                for (b, label) in y.enumerated() {
                    let row = v[(b * c)..<((b + 1) * c)]
                    let predicted = row.indices.max(by: { row[$0] < row[$1] })! - b * c
                    let ok = predicted == label && row.allSatisfy(\.isFinite)
                    right.append(ok)
                    if ok { correct += 1 }
                    if predicted < k { confusion[label][predicted] += 1 }
                }
            }
        }
        return Outcome(accuracy: Double(correct) / Double(indices.count), loss: lossSum / Double(indices.count),
                       confusion: confusion, correct: right)
    }

    /// Accuracy and mean cross-entropy over `indices` (NaN for no images).
    public static func accuracy(model: Model, state: ModelState, dataset: FederatedDataset, indices: [Int],
                                bn: BNMode, batchSize: Int = 64) -> (accuracy: Double, loss: Double) {
        let o = evaluate(model: model, state: state, dataset: dataset, indices: indices, bn: bn, batchSize: batchSize)
        return (o.accuracy, o.loss)
    }
}
