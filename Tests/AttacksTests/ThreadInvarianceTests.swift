import XCTest
import Federated
import NN
@testable import Attacks
@testable import Tensor

/// A trial is the same bit for bit at 1, 2 and 3 op threads: the first Inverting Gradients evaluations
/// (loss and input gradient) and DLG's, on models whose convolutions, batch norms, depthwise layers and
/// pooling are large enough to be cut into pieces (`OpThreads`).
final class ThreadInvarianceTests: XCTestCase {
    private func firstEvaluations(_ name: String, size: Int, batch: Int, gradInv: Bool, threads: Int) throws -> [(Float, [UInt32])] {
        let model = try ModelZoo.make(name, classes: 6, size: size)
        let state = model.initialState(seed: 5)
        var rng = SeededGenerator(seed: 9)
        let shape = [batch] + model.inputShape
        let labels = (0..<batch).map { $0 % 6 }
        let target = model.gradients(images: Tensor.uniform(shape, using: &rng), labels: labels, state: state, bn: .train).grads
        let match = gradInv
            ? GradientMatching(model: model, state: state, bn: .train, target: target, distance: .cosine, tvWeight: 1e-4, labels: .known(labels))
            : GradientMatching(model: model, state: state, bn: .train, target: target, distance: .squaredL2, labels: .soft)
        var x = Tensor.randn(shape, using: &rng)
        let logits: Tensor? = gradInv ? nil : Tensor.randn([batch, 6], using: &rng)
        return OpThreads.with(threads: threads) {
            var out: [(Float, [UInt32])] = []
            for _ in 0..<2 {
                let r = match.evaluate(x: x, logits: logits)
                out.append((r.loss, r.gradX.scalars.map(\.bitPattern)))
                x = (x - r.gradX * 0.1).detached()                   // the next evaluation starts elsewhere
            }
            return out
        }
    }

    private func assertThreadInvariant(_ name: String, size: Int, batch: Int, gradInv: Bool) throws {
        let one = try firstEvaluations(name, size: size, batch: batch, gradInv: gradInv, threads: 1)
        XCTAssertTrue(one.allSatisfy { $0.0.isFinite })
        for t in [2, 3] {
            let other = try firstEvaluations(name, size: size, batch: batch, gradInv: gradInv, threads: t)
            for (i, (a, b)) in zip(one, other).enumerated() {
                XCTAssertEqual(a.0.bitPattern, b.0.bitPattern, "\(name) evaluation \(i): loss \(a.0) at 1 thread, \(b.0) at \(t)")
                XCTAssertTrue(a.1 == b.1, "\(name) evaluation \(i): the input gradient differs at \(t) threads")
            }
        }
    }

    func testResNet18GradInvIsBitIdenticalAcrossThreadCounts() throws {
        try assertThreadInvariant("resnet18", size: 64, batch: 2, gradInv: true)
    }

    func testMobileNetDepthwiseIsBitIdenticalAcrossThreadCounts() throws {
        try assertThreadInvariant("mobilenet_v2", size: 64, batch: 2, gradInv: true)
    }

    func testCIFARResNetDLGIsBitIdenticalAcrossThreadCounts() throws {
        try assertThreadInvariant("resnet18-cifar", size: 32, batch: 4, gradInv: false)
    }

    func testParallelismDefaultsNeverExceedTheCores() {
        XCTAssertEqual(Parallelism.resolve(jobs: nil, threads: nil, cores: 8), Parallelism(jobs: 8, threads: 1))
        XCTAssertEqual(Parallelism.resolve(jobs: 2, threads: nil, cores: 8), Parallelism(jobs: 2, threads: 4))
        XCTAssertEqual(Parallelism.resolve(jobs: nil, threads: 3, cores: 8), Parallelism(jobs: 2, threads: 3))
        XCTAssertEqual(Parallelism.resolve(jobs: nil, threads: 16, cores: 8), Parallelism(jobs: 1, threads: 16))
        XCTAssertEqual(Parallelism.resolve(jobs: 3, threads: 2, cores: 2), Parallelism(jobs: 3, threads: 2), "both given: as given")
    }
}
