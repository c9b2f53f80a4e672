import ArgumentParser
import Federated
import Foundation
import Imaging
import Metrics
import NN
import Tensor

/// FedSGD or FedAvg.
enum AlgorithmName: String, ExpressibleByArgument, CaseIterable { case fedavg, fedsgd }

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model with federated learning on a site's images, with a defence on every client update; report test accuracy.",
        discussion: """
        The images (an ImageFolder: one sub-folder per class, optional manifest.csv with source_path) are \
        split by source 3:1 into train and test within each class, then dealt to --clients clients (--split \
        iid or dirichlet:ALPHA label skew). Every round each client trains from the global weights (FedAvg: \
        --local-steps minibatch SGD steps or --local-epochs passes; FedSGD: one gradient on one batch), \
        applies --defense to its update, and the server averages by sample count. Test accuracy of the \
        global model on the union of the clients' test sets is recorded after every round. Unless \
        --no-baseline, the same training (same seed, split and minibatches) also runs without defence and \
        the accuracy drop is reported (on the mean test accuracy of the last 5 rounds). Classes with a single source cannot be split by source and are \
        trained on but not tested.
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "ImageFolder with the site's images (one sub-folder per class).") var images: String
    @OptionGroup var defence: DefenceOptions
    @Option(help: "fedavg or fedsgd.") var algorithm: AlgorithmName = .fedavg
    @Option(help: "Rounds of federated training.") var rounds: Int = 40
    @Option(help: "Number of clients.") var clients: Int = 4
    @Option(help: "FedAvg: local SGD steps per round (default 5).") var localSteps: Int?
    @Option(help: "FedAvg: local epochs per round (instead of --local-steps).") var localEpochs: Int?
    @Option(help: "Learning rate (FedAvg: local SGD; FedSGD: the server's step).") var lr: Double = 0.05
    @Option(help: "Local minibatch size.") var batch: Int = 8
    @Option(help: "iid or dirichlet:ALPHA (label skew, e.g. dirichlet:0.5).") var split: String = "iid"
    @Option(help: "Fraction of each class held out for testing, by source.") var testFraction: Double = 0.25
    @Flag(help: "Skip the no-defence baseline run (no accuracy drop).") var noBaseline = false
    @Option(help: "Write the final global weights here (safetensors, 0600).") var save: String?
    @Flag(help: "Print the per-round history as JSON on stdout.") var json = false
    @Flag(help: "No progress on stderr.") var quiet = false
    @OptionGroup var parallel: ParallelOptions

    struct Output: Encodable {
        let defended: TrainingHistory
        let baseline: TrainingHistory?
        let accuracyDrop: Double?
        let savedWeights: String?
        /// The final accuracy as a count of test images with its 95% Wilson interval, and the drop image by image
        /// against the run without defence with its paired 95% interval (Newcombe), as the audit judges them.
        var finalAccuracyInterval: Proportion? = nil
        var pairedDrop: PairedDifference? = nil
    }

    func run() throws {
        let spec = try defence.spec()
        let partition = try input { try Partition(parsing: split) }
        let local = try localAlgorithm()
        let loaded = try model.load(batch: batch)
        let folder = try input { try ImageFolder(root: images) }
        let data = try input { try FederatedDataset(folder: folder, size: loaded.model.inputShape[1]) }
        let config = TrainingConfig(model: loaded.model, initialState: loaded.state, clients: clients, rounds: rounds,
                                    algorithm: local, learningRate: lr, batchSize: batch, partition: partition,
                                    testFraction: testFraction, bn: model.bn, jobs: parallel.resolved.jobs, threads: parallel.resolved.threads)
        try input { try config.validate(dataset: data, defence: spec) }
        let seed = model.seed
        let runs = (spec.isNone || noBaseline) ? 1 : 2
        var current = 0
        let progress: FederatedTraining.Progress = { r, total, acc in
            if r == 1 { current += 1 }
            if !quiet { note(String(format: "run %d/%d, round %d/%d: test accuracy %.3f", current, runs, r, total, acc)) }
        }
        let defended: TrainingHistory, baseline: TrainingHistory?
        if runs == 2 {
            let u = try input { try Utility.compare(config: config, dataset: data, defence: spec, seed: seed, progress: progress) }
            (defended, baseline) = (u.defended, u.baseline)
        } else {
            defended = try input { try FederatedTraining.run(config: config, dataset: data, defence: spec, seed: seed, progress: progress) }
            baseline = spec.isNone ? defended : nil
        }
        if let path = save, let state = defended.finalState {
            try input {
                try Safetensors.write(loaded.model.stateDict(state),
                                      metadata: ["format": "medpfl-weights", "model": loaded.model.name, "defence": spec.description,
                                                 "rounds": "\(rounds)", "seed": "\(seed)"], to: path)
            }
        }
        let drop = baseline.map { $0.tailAccuracy - defended.tailAccuracy }
        if json {
            var out = Output(defended: defended, baseline: spec.isNone ? nil : baseline, accuracyDrop: drop, savedWeights: save)
            out.finalAccuracyInterval = Proportion(defended.finalCorrect.filter { $0 }.count, of: defended.finalCorrect.count)
            if !spec.isNone, let b = baseline { out.pairedDrop = PairedDifference(baseline: b.finalCorrect, defended: defended.finalCorrect) }
            try printJSON(out)
            return
        }
        print(summary(defended, baseline: spec.isNone ? nil : baseline, drop: drop))
    }

    func localAlgorithm() throws -> LocalAlgorithm {
        switch algorithm {
        case .fedsgd:
            if localSteps != nil || localEpochs != nil { throw InputError("--local-steps and --local-epochs are for --algorithm fedavg") }
            return .fedSGD
        case .fedavg:
            switch (localSteps, localEpochs) {
            case (nil, nil): return .fedAvgSteps(5)
            case let (s?, nil): return .fedAvgSteps(s)
            case let (nil, e?): return .fedAvgEpochs(e)
            default: throw InputError("give --local-steps or --local-epochs, not both")
            }
        }
    }

    func summary(_ h: TrainingHistory, baseline: TrainingHistory?, drop: Double?) -> String {
        var lines = ["\(h.model), \(h.algorithm), \(h.clients) clients, \(h.rounds.count) rounds, lr \(h.learningRate), batch \(h.batchSize), "
                     + "split \(h.split.partition), seed \(h.seed); \(h.testImages) test images"
                     + (h.trainOnlyClasses.isEmpty ? "" : " (not tested, single source: \(h.trainOnlyClasses.joined(separator: ", ")))")]
        lines.append("defence: \(h.defenceLabel)" + (h.epsilon.map { String(format: "; epsilon %.3g over all rounds at delta %.0e", $0, h.delta ?? 0) } ?? ""))
        let tail = min(TrainingHistory.tailRounds, h.rounds.count)
        lines.append(String(format: "test accuracy: %.3f at round 0, %.3f after round %d, %.3f mean of the last %d rounds",
                            h.initialAccuracy, h.finalAccuracy, h.rounds.count, h.tailAccuracy, tail))
        if let i = Proportion(h.finalCorrect.filter { $0 }.count, of: h.finalCorrect.count).interval {
            lines.append(String(format: "final test accuracy 95%% CI %.3f to %.3f (%d test images)", i.lowerBound, i.upperBound, h.finalCorrect.count))
        }
        if let d = h.divergence { lines.append("training diverged: \(d)") }
        if let b = baseline, let d = drop {
            lines.append(String(format: "without defence: %.3f after round %d, %.3f mean of the last %d rounds; accuracy drop %.3f",
                                b.finalAccuracy, b.rounds.count, b.tailAccuracy, tail, d))
            if let p = PairedDifference(baseline: b.finalCorrect, defended: h.finalCorrect), let drop = p.drop, let i = p.interval {
                lines.append(String(format: "final accuracy drop image by image %.3f, paired 95%% CI %.3f to %.3f (%d lost, %d gained of %d test images)",
                                    drop, i.lowerBound, i.upperBound, p.lost, p.gained, p.pairs))
            }
        }
        return lines.joined(separator: "\n")
    }
}
