import Federated
import Foundation
import Imaging
import NN
import Tensor

/// Measures what each defence costs in accuracy: federated training on the audit's data set (the site's
/// model and initial weights, the `utility:` settings), once without defence and once per defence, with
/// the same seed (same split, initial weights and minibatches), comparing final test accuracy.
public enum UtilityRunner {
    /// Everything a utility run needs, built once per audit run.
    /// `@unchecked Sendable`: safe because it holds read-only tensors, the dataset and values in `let`s.
    public struct Setup: @unchecked Sendable {
        public let config: TrainingConfig
        public let dataset: FederatedDataset
        /// The first run's seed (the one audits before `utility.seeds` used), then one derived seed per further run.
        public let seeds: [UInt64]
        public var seed: UInt64 { seeds[0] }
    }

    /// Builds the training setup and checks it against every tested defence; nil when the audit has no
    /// `utility:` section.
    public static func setup(_ plan: AuditPlan) throws -> Setup? {
        guard let u = plan.definition.utility else { return nil }
        let d = plan.definition
        let dataset: FederatedDataset
        do {
            // Every image of the pool, read as the attacks read them (window, frames, channels, resize); images of
            // one source (a manifest's scan, a multi-frame file) stay on one side of the train/test split.
            let all = Array(plan.pool.items.indices)
            let x = try plan.pool.load(all, size: d.model.inputSize, channels: d.model.inputChannels, method: d.model.resizeMethod)
            dataset = FederatedDataset(classes: plan.pool.classes, imageShape: [d.model.inputChannels, d.model.inputSize, d.model.inputSize],
                                       labels: plan.pool.items.map(\.label), sources: plan.pool.items.map(\.source),
                                       names: plan.pool.items.map(\.name), pixels: x.scalars)
        } catch { throw plan.parsed.error("utility", "cannot load the training images: \(error)") }
        let algorithm: LocalAlgorithm = u.algorithm == .fedsgd ? .fedSGD : .fedAvgSteps(u.localSteps)
        let config = TrainingConfig(model: plan.model, initialState: plan.state, clients: u.clients, rounds: u.rounds,
                                    algorithm: algorithm, learningRate: u.learningRate, batchSize: u.batchSize,
                                    partition: (try? Partition(parsing: u.partition)) ?? .iid, testFraction: u.testFraction,
                                    bn: d.model.bn, jobs: 1)
        for spec in d.defences {
            do { try config.validate(dataset: dataset, defence: spec) } catch { throw plan.parsed.error("utility", "\(spec): \(error)") }
        }
        let root = SeededGenerator(seed: d.seed)
        let seeds = (0..<u.seedCount).map { i in root.derived(i == 0 ? "utility" : "utility-\(i)").seed }
        return Setup(config: config, dataset: dataset, seeds: seeds)
    }

    /// Trains with `defence` once per seed and returns the run's record: accuracy pooled over the seeds' test images,
    /// each run's outcome per test image and divergence in its evidence (the baseline accuracy is the no-defence run's).
    public static func run(_ setup: Setup, defence: DefenceSpec, baseline: Double?, audit: Int64) throws -> UtilityRunRecord {
        let t0 = Date()
        var runs: [UtilityEvidence.Run] = [], curves: [String] = []
        var epsilon: Double? = nil, testImages = 0
        for seed in setup.seeds {
            let history: TrainingHistory
            do { history = try FederatedTraining.run(config: setup.config, dataset: setup.dataset, defence: defence, seed: seed) } catch {
                throw AuditError.input("utility run with \(defence): \(error)")
            }
            runs.append(.init(seed: seed, accuracy: history.finalAccuracy, correct: history.finalCorrect, divergence: history.divergence))
            curves.append("[" + history.rounds.map { String(format: "%.4f", $0.testAccuracy) }.joined(separator: ", ") + "]")
            epsilon = history.epsilon
            testImages = history.testImages
        }
        let evidence = UtilityEvidence(runs: runs, classes: setup.dataset.classes.count)
        let accuracy = evidence.accuracy.estimate ?? runs.map(\.accuracy).reduce(0, +) / Double(max(runs.count, 1))
        let details = "\(setup.config.algorithm), \(runs.count) run\(runs.count == 1 ? "" : "s") of \(testImages) test images, accuracy by round: "
            + curves.joined(separator: "; ")
            + (epsilon.map { String(format: ", epsilon over all rounds %.3g", $0) } ?? "")
            + (evidence.divergence.map { "; diverged: \($0)" } ?? "")
        return UtilityRunRecord(auditID: audit, defence: defence.description, accuracy: accuracy,
                                baselineAccuracy: baseline ?? accuracy, rounds: setup.config.rounds,
                                clients: setup.config.clients, seed: setup.seed, seconds: Date().timeIntervalSince(t0),
                                details: details, evidence: evidence)
    }
}
