import Foundation

/// What a defence costs in model quality: the same federated training (same seed, hence the same split,
/// initial weights and minibatches) with and without the defence.
public struct UtilityComparison: Sendable, Codable {
    /// Training without any defence.
    public var baseline: TrainingHistory
    /// Training with the defence on every client update of every round.
    public var defended: TrainingHistory
    /// baseline.tailAccuracy - defended.tailAccuracy: the drop in test accuracy averaged over the last
    /// rounds (positive: the defence costs accuracy).
    public var accuracyDrop: Double
    /// baseline.finalAccuracy - defended.finalAccuracy (last round only).
    public var finalAccuracyDrop: Double

    public init(baseline: TrainingHistory, defended: TrainingHistory) {
        precondition(baseline.split == defended.split, "a utility comparison needs the same split on both sides")
        self.baseline = baseline
        self.defended = defended
        self.accuracyDrop = baseline.tailAccuracy - defended.tailAccuracy
        self.finalAccuracyDrop = baseline.finalAccuracy - defended.finalAccuracy
    }
}

public enum Utility {
    /// Trains without and with `defence` (same config and seed) and compares test accuracy. With
    /// `defence == .none` the one run is both sides (drop 0).
    public static func compare(config: TrainingConfig, dataset: FederatedDataset, defence: DefenceSpec, seed: UInt64,
                               progress: FederatedTraining.Progress? = nil) throws -> UtilityComparison {
        let baseline = try FederatedTraining.run(config: config, dataset: dataset, defence: .none, seed: seed, progress: progress)
        if defence.isNone { return UtilityComparison(baseline: baseline, defended: baseline) }
        let defended = try FederatedTraining.run(config: config, dataset: dataset, defence: defence, seed: seed, progress: progress)
        return UtilityComparison(baseline: baseline, defended: defended)
    }
}
