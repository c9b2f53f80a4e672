import Foundation
import XCTest
import NN
import Tensor
@testable import Federated

final class AggregationTests: XCTestCase {
    func testWeightsFollowSampleCounts() {
        XCTAssertEqual(Aggregation.weights(sampleCounts: [10, 30, 60]), [0.1, 0.3, 0.6])
        let a = update([1, 2]), b = update([3, 6]), c = update([-1, 0])
        let mean = Aggregation.weightedMean([a, b, c], sampleCounts: [1, 2, 1])
        XCTAssertEqual(mean.flatValues, [(1 + 6 - 1) / 4, (2 + 12 + 0) / 4])
        // Equal counts: the plain mean.
        XCTAssertEqual(Aggregation.weightedMean([a, b], sampleCounts: [5, 5]).flatValues, ModelUpdate.mean([a, b]).flatValues)
    }

    func testServerStepMovesAgainstTheUpdate() {
        let w = [Tensor(shape: [2], data: [1, 1])]
        let stepped = Aggregation.step(w, by: update([0.5, -2]), rate: 0.1)
        XCTAssertEqual(stepped[0].scalars, [0.95, 1.2])
    }

    /// FedAvg sends w_0 - w_S: for one step that is lr * gradient (the sign of a gradient), and
    /// w_0 - update is exactly the client's locally trained weights.
    func testFedAvgWeightDifferenceSign() {
        let d = Sample.small
        let model = tinyMLP(d)
        let state = model.initialState(seed: 3)
        let (x, y) = d.batch([0, 40, 100, 170])
        let g = LocalTraining.update(.gradient, model: model, state: state, images: x, labels: y, bn: .train).update
        let one = LocalTraining.update(.fedAvg(steps: 1, lr: 0.5), model: model, state: state, images: x, labels: y, bn: .train).update
        for (a, b) in zip(one.flatValues, g.flatValues) { XCTAssertEqual(a, 0.5 * b, accuracy: 1e-6) }

        let three = LocalTraining.update(.fedAvg(steps: 3, lr: 0.5), model: model, state: state, images: x, labels: y, bn: .train)
        var w = state.parameters
        for _ in 0..<3 {
            let r = LocalTraining.gradient(model: model, parameters: w, buffers: state.buffers, images: x, labels: y, bn: .train)
            w = LocalTraining.step(w, r.grads, lr: 0.5)
        }
        let recovered = Aggregation.step(state.parameters, by: three.update, rate: 1)
        for (a, b) in zip(recovered, w) {
            for (p, q) in zip(a.scalars, b.scalars) { XCTAssertEqual(p, q, accuracy: 1e-6) }
        }
        // Stepping the global model against the update lowers the loss on that batch.
        let before = three.loss
        let after = LocalTraining.gradient(model: model, parameters: recovered, buffers: state.buffers, images: x, labels: y, bn: .train).loss
        XCTAssertLessThan(after, before)
    }

    func testSecureAggregationMasksCancel() {
        let updates = (0..<4).map { randomUpdate(seed: UInt64(10 + $0)) }
        let sa = SecureAggregation(clients: 4, seed: 99)
        let masked = updates.enumerated().map { sa.mask($1, client: $0) }
        // Every mask cancels in the sum: the masked words add up to the sum of the plain encodings, exactly.
        var plainWords = [UInt64](repeating: 0, count: updates[0].scalarCount)
        var maskedWords = plainWords
        for (u, m) in zip(updates, masked) {
            let e = sa.encode(u)
            for k in plainWords.indices { plainWords[k] = plainWords[k] &+ e[k]; maskedWords[k] = maskedWords[k] &+ m.words[k] }
            XCTAssertNotEqual(e, m.words, "a masked update must differ from its encoding")
        }
        XCTAssertEqual(maskedWords, plainWords)
        // Decoded, the sum equals the float sum up to the fixed-point rounding.
        let (sum, check) = sa.aggregate(updates)
        let resolution = Double(sign: .plus, exponent: -sa.fractionalBits, significand: 1)
        XCTAssertLessThanOrEqual(check.maxAbsErrorOfSum, 4 * resolution + 1e-7)
        for (a, b) in zip(sum.flatValues, ModelUpdate.sum(updates).flatValues) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // One masked update, as the server sees it, says nothing about the client's values.
        XCTAssertLessThan(abs(check.maskedCorrelation), 0.05)
        // Without the other clients' words the masks do not cancel.
        let partial = SecureAggregation(clients: 4, seed: 99).decode(masked[0].words, like: updates[0])
        XCTAssertGreaterThan(partial.distance(to: updates[0]), 1000 * updates[0].l2Norm)
        // Another session seed, other masks.
        XCTAssertNotEqual(SecureAggregation(clients: 4, seed: 100).mask(updates[0], client: 0).words, masked[0].words)
    }

    /// What the server sees under secagg: the mean of K defended client updates, with one effect per client.
    func testInterceptedRoundUnderSecureAggregation() throws {
        let d = Sample.small
        let model = tinyMLP(d)
        let state = model.initialState(seed: 5)
        let (x, y) = d.batch([0, 1, 30, 31, 60, 61])
        let spec = try DefenceSpec(parsing: "secagg:clients=3")
        let round = try InterceptedRound.simulate(.gradient, model: model, state: state, images: x, labels: y, bn: .train,
                                                  defence: spec, seed: 1)
        XCTAssertEqual(round.clients, 3)
        XCTAssertEqual(round.batchSize, 6)
        XCTAssertEqual(round.effects.count, 3)
        // Equal client batches: the mean of the clients' gradients is the whole batch's gradient.
        let whole = LocalTraining.update(.gradient, model: model, state: state, images: x, labels: y, bn: .train).update
        for (a, b) in zip(round.update.flatValues, whole.flatValues) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertNotNil(round.secureAggregation)
        XCTAssertThrowsError(try InterceptedRound.simulate(.gradient, model: model, state: state, images: x.narrowed([0..<4, 0..<3, 0..<8, 0..<8]),
                                                           labels: Array(y.prefix(4)), bn: .train, defence: spec, seed: 1))
        // DP on a gradient uses per-example clipping: the effect carries epsilon.
        let dp = try InterceptedRound.simulate(.gradient, model: model, state: state, images: x, labels: y, bn: .train,
                                               defence: DefenceSpec(parsing: "dp:clip=1,sigma=1"), seed: 1)
        XCTAssertNotNil(dp.effects[0].epsilon)
        XCTAssertEqual(dp.metadata(model: model, bn: .train, defence: try DefenceSpec(parsing: "dp:clip=1,sigma=1"))["defence"], "dp:clip=1,sigma=1")
    }

    func testUpdateKindMetadataRoundTrip() throws {
        for k in [UpdateKind.gradient, .fedAvg(steps: 3, lr: 0.05)] { XCTAssertEqual(try UpdateKind(metadata: k.metadata), k) }
        XCTAssertEqual(try UpdateKind(metadata: [:]), .gradient)
        XCTAssertThrowsError(try UpdateKind(metadata: ["kind": "fedavg-weight-difference"]))
        XCTAssertThrowsError(try UpdateKind(metadata: ["kind": "other"]))
        XCTAssertThrowsError(try UpdateKind.fedAvg(steps: 0, lr: 0.1).validate())
    }
}
