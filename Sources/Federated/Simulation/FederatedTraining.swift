import Foundation
import NN
import Tensor

/// Federated training with a client-side defence applied to every update of every round.
public enum FederatedTraining {
    /// Progress after each round: (round, rounds, test accuracy).
    public typealias Progress = (_ round: Int, _ of: Int, _ accuracy: Double) -> Void

    /// Splits `dataset` over the clients (`FederatedSplit`, by source), then runs `config.rounds` rounds:
    /// every client with training images computes its update from the current global weights (in
    /// parallel), applies `defence`, and the server takes the sample-weighted mean (through simulated
    /// secure aggregation when the spec has `secagg:clients=N`: clients pre-scale by their weight and are
    /// summed in groups of N) and steps the global model. Test accuracy of the global model on the union
    /// of the clients' test sets is recorded after every round.
    ///
    /// Deterministic for a seed: the split, each client's minibatches, each defence draw and each mask
    /// come from their own sub-stream of `seed`, so the same seed gives the same split and minibatches
    /// with any defence (a utility comparison changes only the defence).
    public static func run(config: TrainingConfig, dataset: FederatedDataset, defence: DefenceSpec, seed: UInt64,
                           progress: Progress? = nil) throws -> TrainingHistory {
        let t0 = Date()
        try config.validate(dataset: dataset, defence: defence)
        let split = try FederatedSplit.make(dataset, clients: config.clients, partition: config.partition,
                                            testFraction: config.testFraction, seed: seed)
        let test = split.testIndices, trainSet = split.trainIndices
        let root = SeededGenerator(seed: seed)
        let evalBN: BNMode = config.model.hasBatchNorm ? .eval : config.bn
        var state = config.initialState.copy()
        let initial = ModelEvaluation.accuracy(model: config.model, state: state, dataset: dataset, indices: test, bn: evalBN)
        let active = split.clients.indices.filter { !split.clients[$0].train.isEmpty }
        let counts = active.map { split.clients[$0].train.count }
        var records: [TrainingHistory.Round] = []
        for r in 1...config.rounds {
            let global = state
            let results = try Parallel.map(active.count, jobs: config.jobs, threads: config.threads) { j in
                clientRound(config: config, dataset: dataset, state: global, images: split.clients[active[j]].train,
                            defence: defence, root: root, round: r, client: active[j])
            }
            let (mean, secaggError) = aggregate(results.map(\.update), counts: counts, defence: defence, root: root, round: r)
            let rate = config.algorithm == .fedSGD ? config.learningRate : 1
            state = ModelState(parameters: Aggregation.step(global.parameters, by: mean, rate: rate),
                               buffers: Aggregation.weightedMean(buffers: results.map(\.buffers), sampleCounts: counts))
            let (acc, loss) = ModelEvaluation.accuracy(model: config.model, state: state, dataset: dataset, indices: test, bn: evalBN)
            let fit = ModelEvaluation.accuracy(model: config.model, state: state, dataset: dataset, indices: trainSet, bn: evalBN).accuracy
            let weights = Aggregation.weights(sampleCounts: counts)
            let trainLoss = zip(results, weights).reduce(0.0) { $0 + Double($1.0.loss) * $1.1 }
            let snrs = results.map(\.effect.snr).filter(\.isFinite)
            records.append(.init(round: r, testAccuracy: acc, testLoss: loss, trainAccuracy: fit, trainLoss: trainLoss,
                                 meanSNR: snrs.isEmpty ? nil : snrs.reduce(0, +) / Double(snrs.count),
                                 secureAggregationMaxError: secaggError))
            progress?(r, config.rounds, acc)
        }
        var epsilon: Double? = nil
        if let dp = defence.dp {
            epsilon = RDPAccountant.epsilon(noiseMultiplier: dp.noiseMultiplier, sampleRate: dp.sampleRate,
                                            steps: dp.steps * config.rounds, delta: dp.delta)
        }
        let final = ModelEvaluation.evaluate(model: config.model, state: state, dataset: dataset, indices: test, bn: evalBN)
        let finite = state.parameters.allSatisfy { $0.scalars.allSatisfy(\.isFinite) }
        let finalAccuracy = records.last?.testAccuracy ?? initial.accuracy
        var history = TrainingHistory(model: config.model.name, algorithm: config.algorithm, defence: defence.description,
                               defenceLabel: defence.label, clients: config.clients, learningRate: config.learningRate,
                               batchSize: config.batchSize, seed: seed, split: split,
                               trainOnlyClasses: split.trainOnlyClasses.map { dataset.classes[$0] }, testImages: test.count,
                               initialAccuracy: initial.accuracy, initialLoss: initial.loss, rounds: records,
                               finalAccuracy: finalAccuracy,
                               tailAccuracy: TrainingHistory.tail(records, initial: initial.accuracy),
                               finalConfusion: final.confusion,
                               epsilon: epsilon, delta: defence.dp?.delta, seconds: Date().timeIntervalSince(t0),
                               finalState: state)
        history.finalCorrect = final.correct
        history.divergence = TrainingDivergence.cause(rounds: records, finalWeightsFinite: finite, finalAccuracy: finalAccuracy,
                                                      classes: dataset.classes.count)
        return history
    }

    /// One client's defended update for round `round`, from the global weights.
    static func clientRound(config: TrainingConfig, dataset: FederatedDataset, state: ModelState, images: [Int],
                            defence: DefenceSpec, root: SeededGenerator, round: Int, client: Int) -> ClientUpdate {
        var batchRNG = root.derived("round-\(round)-client-\(client)-batches")
        var defenceRNG = root.derived("round-\(round)-client-\(client)-defence")
        let b = min(config.batchSize, images.count)
        switch config.algorithm {
        case .fedSGD:
            var order = images
            order.shuffle(using: &batchRNG)
            let (x, y) = dataset.batch(Array(order.prefix(b)))
            return ClientUpdate.compute(.gradient, model: config.model, state: state, images: x, labels: y, bn: config.bn,
                                        defence: defence, rng: &defenceRNG)
        case .fedAvgSteps, .fedAvgEpochs:
            let batches = minibatches(images, batchSize: b, algorithm: config.algorithm, rng: &batchRNG)
            let local = LocalTraining.sgd(model: config.model, from: state, lr: config.learningRate, bn: config.bn) { s in
                s < batches.count ? dataset.batch(batches[s]) : nil
            }
            let delta = ModelUpdate(names: config.model.parameterNames,
                                    tensors: LocalTraining.difference(state.parameters, local.state.parameters))
            let outcome = ClientUpdate.defend(delta, isGradient: false, defence: defence, rng: &defenceRNG) { [] }
            return ClientUpdate(update: outcome.update, effect: outcome.effect, loss: Float(local.meanLoss),
                                buffers: local.state.buffers)
        }
    }

    /// The minibatches of one round of local FedAvg training: successive seeded shuffles of `images`, cut
    /// into batches of `batchSize` (S batches for `fedAvgSteps(S)`; E full passes for `fedAvgEpochs(E)`).
    static func minibatches(_ images: [Int], batchSize b: Int, algorithm: LocalAlgorithm,
                            rng: inout SeededGenerator) -> [[Int]] {
        var out: [[Int]] = []
        func pass() -> [[Int]] {
            var order = images
            order.shuffle(using: &rng)
            return stride(from: 0, to: order.count, by: b).map { Array(order[$0..<min($0 + b, order.count)]) }
        }
        switch algorithm {
        case .fedSGD: return []
        case let .fedAvgEpochs(e):
            for _ in 0..<e { out += pass() }
        case let .fedAvgSteps(s):
            while out.count < s {
                out += pass().filter { $0.count == b }
            }
            out = Array(out.prefix(s))
        }
        return out
    }

    /// The server's weighted mean of the clients' updates, optionally through secure aggregation in groups
    /// of N clients (each client scales its update by its weight before masking). Returns the mean and the
    /// largest secure-aggregation error against the plain sum.
    static func aggregate(_ updates: [ModelUpdate], counts: [Int], defence: DefenceSpec, root: SeededGenerator,
                          round: Int) -> (ModelUpdate, Double?) {
        guard let n = defence.secureAggregationClients, updates.count >= 2 else {
            return (Aggregation.weightedMean(updates, sampleCounts: counts), nil)
        }
        let weights = Aggregation.weights(sampleCounts: counts)
        let scaled = zip(updates, weights).map { $0.scaled(by: Float($1)) }
        var groups = stride(from: 0, to: scaled.count, by: n).map { Array($0..<min($0 + n, scaled.count)) }
        if groups.count > 1, groups.last!.count < n { let tail = groups.removeLast(); groups[groups.count - 1] += tail }
        var sums: [ModelUpdate] = [], worst = 0.0
        for (g, members) in groups.enumerated() {
            let sa = SecureAggregation(clients: members.count, seed: root.derived("round-\(round)-secagg-group-\(g)").seed)
            let (sum, check) = sa.aggregate(members.map { scaled[$0] })
            sums.append(sum)
            worst = max(worst, check.maxAbsErrorOfSum)
        }
        return (sums.count == 1 ? sums[0] : ModelUpdate.sum(sums), worst)
    }
}
