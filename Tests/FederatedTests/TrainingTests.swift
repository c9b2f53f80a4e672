import Foundation
import XCTest
import NN
import Tensor
@testable import Federated

final class TrainingTests: XCTestCase {
    func config(_ d: FederatedDataset, rounds: Int = 25, algorithm: LocalAlgorithm = .fedAvgSteps(3)) -> TrainingConfig {
        let model = tinyMLP(d, hidden: 32)
        return TrainingConfig(model: model, initialState: model.initialState(seed: 11), clients: 3, rounds: rounds,
                              algorithm: algorithm, learningRate: 0.1, batchSize: 8, partition: .iid, jobs: 2)
    }

    func testTrainingIsDeterministicAndLearns() throws {
        let d = Sample.small
        let a = try FederatedTraining.run(config: config(d), dataset: d, defence: .none, seed: 4)
        let b = try FederatedTraining.run(config: config(d), dataset: d, defence: .none, seed: 4)
        XCTAssertEqual(a.rounds, b.rounds)
        XCTAssertEqual(a.finalState!.parameters.map(\.scalars), b.finalState!.parameters.map(\.scalars))
        XCTAssertEqual(a.rounds.count, 25)
        XCTAssertEqual(a.trainOnlyClasses, ["fundus", "histology"])
        XCTAssertEqual(a.testImages, a.split.testIndices.count)
        // The global model learns its training data (held-out sources are much harder: see the README).
        let fit = a.rounds.map(\.trainAccuracy)
        XCTAssertGreaterThan(fit.last!, 0.6, "train accuracy per round: \(fit)")
        XCTAssertGreaterThan(fit.last!, fit.first! + 0.2, "train accuracy per round: \(fit)")
        XCTAssertLessThan(a.rounds.last!.trainLoss, a.rounds.first!.trainLoss)
        XCTAssertEqual(a.tailAccuracy, a.rounds.suffix(5).map(\.testAccuracy).reduce(0, +) / 5, accuracy: 1e-12)
        XCTAssertEqual(a.finalConfusion.flatMap { $0 }.reduce(0, +), a.testImages)
        // FedSGD runs too, and epochs.
        let sgd = try FederatedTraining.run(config: config(d, rounds: 2, algorithm: .fedSGD), dataset: d, defence: .none, seed: 4)
        XCTAssertEqual(sgd.rounds.count, 2)
        let epochs = try FederatedTraining.run(config: config(d, rounds: 1, algorithm: .fedAvgEpochs(1)), dataset: d, defence: .none, seed: 4)
        XCTAssertEqual(epochs.split, a.split)
    }

    /// The utility drop compares two runs with the same seed: same split, same initial weights.
    func testUtilityDropUsesTheSameSeedAndSplit() throws {
        let d = Sample.small
        let spec = try DefenceSpec(parsing: "laplace:level=10")
        let u = try Utility.compare(config: config(d), dataset: d, defence: spec, seed: 4)
        XCTAssertEqual(u.baseline.split, u.defended.split)
        XCTAssertEqual(u.baseline.initialAccuracy, u.defended.initialAccuracy)
        XCTAssertEqual(u.accuracyDrop, u.baseline.tailAccuracy - u.defended.tailAccuracy)
        XCTAssertEqual(u.finalAccuracyDrop, u.baseline.finalAccuracy - u.defended.finalAccuracy)
        let alone = try FederatedTraining.run(config: config(d), dataset: d, defence: .none, seed: 4)
        XCTAssertEqual(u.baseline.rounds, alone.rounds)
        XCTAssertEqual(u.defended.defence, "laplace:level=10")
        XCTAssertNotNil(u.defended.rounds[0].meanSNR)
        XCTAssertNotEqual(u.defended.rounds.map(\.testLoss), u.baseline.rounds.map(\.testLoss))
        let none = try Utility.compare(config: config(d, rounds: 2), dataset: d, defence: .none, seed: 4)
        XCTAssertEqual(none.accuracyDrop, 0)
    }

    func testSecureAggregationInTrainingChangesOnlyRounding() throws {
        let d = Sample.small
        let plain = try FederatedTraining.run(config: config(d, rounds: 2), dataset: d, defence: .none, seed: 4)
        let secure = try FederatedTraining.run(config: config(d, rounds: 2), dataset: d, defence: DefenceSpec(parsing: "secagg:clients=3"), seed: 4)
        for (a, b) in zip(plain.finalState!.parameters, secure.finalState!.parameters) {
            for (p, q) in zip(a.scalars, b.scalars) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        }
        XCTAssertLessThan(secure.rounds[0].secureAggregationMaxError!, 1e-6)
        XCTAssertThrowsError(try FederatedTraining.run(config: config(d, rounds: 1), dataset: d,
                                                       defence: DefenceSpec(parsing: "secagg:clients=5"), seed: 4))
    }

    /// A run whose learning rate blows the weights up is flagged diverged with its cause; the per-image outcomes pair
    /// runs image by image and agree with the accuracy.
    func testDivergingTrainingIsFlagged() throws {
        let d = Sample.small
        var c = config(d, rounds: 3)
        let healthy = try FederatedTraining.run(config: c, dataset: d, defence: .none, seed: 4)
        XCTAssertEqual(healthy.finalCorrect.count, healthy.testImages)
        XCTAssertEqual(Double(healthy.finalCorrect.filter { $0 }.count) / Double(healthy.testImages), healthy.finalAccuracy, accuracy: 1e-12)
        c.learningRate = 1e30
        let broken = try FederatedTraining.run(config: c, dataset: d, defence: .none, seed: 4)
        let cause = try XCTUnwrap(broken.divergence, "accuracy by round: \(broken.rounds.map(\.testAccuracy))")
        XCTAssertTrue(cause.contains("not finite"), cause)
        XCTAssertFalse(broken.finalCorrect.contains(true), "a model with non-finite logits predicts nothing right")
        // The rules one by one.
        let round = TrainingHistory.Round(round: 1, testAccuracy: 0.5, testLoss: 1, trainAccuracy: 0.5, trainLoss: 1, meanSNR: nil,
                                          secureAggregationMaxError: nil)
        var nan = round; nan.round = 2; nan.trainLoss = .nan
        XCTAssertEqual(TrainingDivergence.cause(rounds: [round, nan], finalWeightsFinite: true, finalAccuracy: 0.5, classes: 6),
                       "the training loss is not finite from round 2")
        XCTAssertEqual(TrainingDivergence.cause(rounds: [round], finalWeightsFinite: false, finalAccuracy: 0.5, classes: 6),
                       "the final weights are not finite")
        XCTAssertEqual(TrainingDivergence.cause(rounds: [round], finalWeightsFinite: true, finalAccuracy: 0, classes: 6),
                       "test accuracy 0.0% is at or below chance (16.7% for 6 classes)")
        XCTAssertNotNil(TrainingDivergence.cause(rounds: [round], finalWeightsFinite: true, finalAccuracy: 1.0 / 6, classes: 6), "at chance")
        XCTAssertNil(TrainingDivergence.cause(rounds: [round], finalWeightsFinite: true, finalAccuracy: 0.2, classes: 6))
    }

    func testDPTrainingReportsComposedEpsilon() throws {
        let d = Sample.small
        let spec = try DefenceSpec(parsing: "dp:clip=1,sigma=1,sample-rate=0.1")
        let h = try FederatedTraining.run(config: config(d, rounds: 2, algorithm: .fedSGD), dataset: d, defence: spec, seed: 4)
        XCTAssertEqual(h.epsilon!, RDPAccountant.epsilon(noiseMultiplier: 1, sampleRate: 0.1, steps: 2, delta: 1e-5), accuracy: 1e-12)
    }

    func testConfigValidation() throws {
        let d = Sample.small
        var c = config(d)
        c.rounds = 0
        XCTAssertThrowsError(try FederatedTraining.run(config: c, dataset: d, defence: .none, seed: 1))
        let wrong = try ModelZoo.make("mlp", classes: 4, size: 8, hidden: 4)
        let bad = TrainingConfig(model: wrong, initialState: wrong.initialState(seed: 1))
        XCTAssertThrowsError(try bad.validate(dataset: d, defence: .none)) { e in
            XCTAssertTrue("\(e)".contains("6 classes"), "\(e)")
        }
    }
}
