import Foundation
import NN

/// The record of one federated training run: settings, the split, and the global model's test accuracy
/// after every round (on the union of the clients' test sets).
public struct TrainingHistory: Sendable, Codable {
    /// One round's outcome, measured on the global model after the server step.
    public struct Round: Sendable, Codable, Equatable {
        public var round: Int
        public var testAccuracy: Double
        public var testLoss: Double
        /// Accuracy of the global model on the union of the clients' training sets (how well it fits).
        public var trainAccuracy: Double
        /// Sample-weighted mean of the clients' local losses at the start of the round.
        public var trainLoss: Double
        /// Mean over clients of the defence's realised SNR (nil when no client's update changed).
        public var meanSNR: Double?
        /// Largest error of a secure-aggregation sum against the plain sum (nil without secure aggregation).
        public var secureAggregationMaxError: Double?
    }

    public var model: String
    public var algorithm: LocalAlgorithm
    /// The defence's canonical spec string and its human-readable label.
    public var defence: String
    public var defenceLabel: String
    public var clients: Int
    public var learningRate: Double
    public var batchSize: Int
    public var seed: UInt64
    public var split: FederatedSplit
    /// Names of classes without test images (single-source classes, see `FederatedSplit`).
    public var trainOnlyClasses: [String]
    public var testImages: Int
    public var initialAccuracy: Double
    public var initialLoss: Double
    public var rounds: [Round]
    /// Test accuracy after the last round.
    public var finalAccuracy: Double
    /// Mean test accuracy over the last `TrainingHistory.tailRounds` rounds (all rounds if fewer): less
    /// sensitive to the round-to-round swings of a small test set; utility comparisons use it.
    public var tailAccuracy: Double
    /// Confusion counts of the final model on the test images: finalConfusion[true][predicted].
    public var finalConfusion: [[Int]]
    /// Per test image (in `split.testIndices` order): the final model predicted it right. Pairs the runs of a
    /// utility comparison image by image (`PairedDifference`). Not encoded (the audit log keeps it in the utility run).
    public var finalCorrect: [Bool] = []
    /// Why the run is not a usable model, when it is not: non-finite loss or weights, or test accuracy at or below
    /// chance (1 / classes); nil for a healthy run (`TrainingDivergence`).
    public var divergence: String? = nil
    /// DP: epsilon spent by each client over all rounds (RDP composition of the spec's `steps` releases at
    /// its sample rate, once per round), and its delta; nil without DP.
    public var epsilon: Double?
    public var delta: Double?
    public var seconds: Double
    /// The global weights after the last round (not encoded).
    public var finalState: ModelState?

    /// Rounds averaged by `tailAccuracy`.
    public static let tailRounds = 5

    /// Mean test accuracy of the last `tailRounds` records (`initial` when there are none).
    static func tail(_ rounds: [Round], initial: Double) -> Double {
        let last = rounds.suffix(tailRounds).map(\.testAccuracy)
        return last.isEmpty ? initial : last.reduce(0, +) / Double(last.count)
    }

    enum CodingKeys: String, CodingKey {
        case model, algorithm, defence, defenceLabel, clients, learningRate, batchSize, seed, split, trainOnlyClasses,
             testImages, initialAccuracy, initialLoss, rounds, finalAccuracy, tailAccuracy, finalConfusion, divergence,
             epsilon, delta, seconds
    }
}

/// Whether a training run diverged, and why: the checks behind `TrainingHistory.divergence`.
public enum TrainingDivergence {
    /// The first cause found: a round whose training or test loss is not finite, final weights that are not finite, or
    /// a final test accuracy at or below chance (1 / `classes`: what guessing one class reaches on balanced data).
    public static func cause(rounds: [TrainingHistory.Round], finalWeightsFinite: Bool, finalAccuracy: Double, classes: Int) -> String? {
        if let r = rounds.first(where: { !$0.trainLoss.isFinite }) {
            return "the training loss is not finite from round \(r.round)"
        }
        if let r = rounds.first(where: { !$0.testLoss.isFinite && $0.testAccuracy.isFinite }) {
            return "the test loss is not finite from round \(r.round)"
        }
        if !finalWeightsFinite { return "the final weights are not finite" }
        let chance = 1 / Double(max(classes, 1))
        if finalAccuracy.isFinite, finalAccuracy <= chance + 1e-12 {
            return String(format: "test accuracy %.1f%% is at or below chance (%.1f%% for %d classes)", finalAccuracy * 100, chance * 100, classes)
        }
        return nil
    }
}
