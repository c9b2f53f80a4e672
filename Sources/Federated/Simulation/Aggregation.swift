import Foundation
import NN
import Tensor

/// The server side of one round: weighted averaging of client updates and the step on the global model.
public enum Aggregation {
    /// Client weights proportional to their sample counts (FedAvg's n_k / n), summing to 1.
    public static func weights(sampleCounts: [Int]) -> [Double] {
        let total = sampleCounts.reduce(0, +)
        precondition(total > 0 && sampleCounts.allSatisfy { $0 >= 0 }, "aggregation needs positive sample counts, got \(sampleCounts)")
        return sampleCounts.map { Double($0) / Double(total) }
    }

    /// sum_k weights[k] * updates[k] (same layouts), accumulated in Double, in client order.
    public static func weightedSum(_ updates: [ModelUpdate], weights: [Double]) -> ModelUpdate {
        precondition(!updates.isEmpty && updates.count == weights.count, "\(updates.count) updates for \(weights.count) weights")
        return updates[0].map { name, first in
            let k = updates[0].names.firstIndex(of: name)!
            var acc = [Double](repeating: 0, count: first.count)
            for (u, w) in zip(updates, weights) {
                precondition(u.hasSameLayout(as: updates[0]), "aggregation: update layouts differ")
                u.tensors[k].withUnsafeBufferPointer { p in for i in 0..<acc.count { acc[i] += w * Double(p[i]) } }
            }
            return Tensor(shape: first.shape, data: acc.map { Float($0) })
        }
    }

    /// The sample-weighted mean of the clients' updates.
    public static func weightedMean(_ updates: [ModelUpdate], sampleCounts: [Int]) -> ModelUpdate {
        weightedSum(updates, weights: weights(sampleCounts: sampleCounts))
    }

    /// The sample-weighted mean of the clients' buffers (batch-norm running statistics); empty for models
    /// without buffers.
    public static func weightedMean(buffers: [[Tensor]], sampleCounts: [Int]) -> [Tensor] {
        guard let first = buffers.first, !first.isEmpty else { return [] }
        let names = first.indices.map { "buffer\($0)" }
        let updates = buffers.map { ModelUpdate(names: names, tensors: $0) }
        return weightedMean(updates, sampleCounts: sampleCounts).tensors
    }

    /// The global parameters after the server step `w <- w - rate * update` (see `UpdateKind` for the sign).
    public static func step(_ parameters: [Tensor], by update: ModelUpdate, rate: Double) -> [Tensor] {
        precondition(update.tensorCount == parameters.count, "update has \(update.tensorCount) tensors for \(parameters.count) parameters")
        return LocalTraining.step(parameters, update.tensors, lr: rate)
    }
}
