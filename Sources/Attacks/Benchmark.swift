import Foundation
import NN
import Tensor

/// Timing of one double-backward evaluation, the unit of work of every optimisation attack: forward of
/// a dummy batch, parameter gradients with a graph, squared-L2 matching loss, backward to the dummy
/// input and logits (the setting of ../shared/anchors/microbench.py, variant `backward`).
public struct DoubleBackwardTiming: Codable, Sendable {
    public let model: String
    public let batch: Int
    /// Input side in pixels.
    public var size: Int? = nil
    public let reps: Int
    public let medianMs: Double
    public let minMs: Double
    public let meanMs: Double
}

public enum Benchmark {
    public static func doubleBackward(model name: String, batch: Int, classes: Int = 6, size: Int = 32,
                                      reps: Int, warmup: Int, seed: UInt64 = 1234) throws -> DoubleBackwardTiming {
        let model = try ModelZoo.make(name, classes: classes, size: size)
        try model.requireFits(batch: batch, bn: .train)
        var t = try doubleBackward(model: model, state: model.initialState(seed: seed), bn: .train, batch: batch, reps: reps, warmup: warmup, seed: seed)
        t.size = size
        return t
    }

    /// The same timing for any model and weights (`medpfl inspect`).
    public static func doubleBackward(model: Model, state: ModelState, bn: BNMode, batch: Int, reps: Int, warmup: Int,
                                      seed: UInt64 = 1234) throws -> DoubleBackwardTiming {
        let name = model.name, classes = model.classes
        var rng = SeededGenerator(seed: seed).derived("bench")
        let shape = [batch] + model.inputShape
        let real = Tensor.uniform(shape, using: &rng)
        let labels = (0..<batch).map { $0 % classes }
        let target = model.gradients(images: real, labels: labels, state: state, bn: bn).grads
        let match = GradientMatching(model: model, state: state, bn: bn, target: target, distance: .squaredL2, labels: .soft)
        let x = Tensor.randn(shape, using: &rng).requiringGrad()
        let logits = Tensor.randn([batch, classes], using: &rng).requiringGrad()
        for _ in 0..<warmup { _ = match.evaluate(x: x, logits: logits) }
        var times: [Double] = []
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = match.evaluate(x: x, logits: logits)
            guard r.loss.isFinite else { throw ModelError.tooLarge("\(name) batch \(batch): the matching loss is not finite") }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return DoubleBackwardTiming(model: name, batch: batch, reps: reps, medianMs: median, minMs: sorted[0],
                                    meanMs: times.reduce(0, +) / Double(times.count))
    }

    /// Single-threaded sgemm throughput on n x n x n, in GFLOP/s (best of `reps`).
    public static func sgemmGFLOPS(n: Int = 512, reps: Int = 10) -> Double {
        var rng = SeededGenerator(seed: 7)
        let a = Tensor.uniform([n, n], using: &rng), b = Tensor.uniform([n, n], using: &rng)
        var best = Double.infinity
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = matmul(a, b)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// Peak resident set size of this process, in MiB (from /proc/self/status VmHWM).
    public static func peakResidentMiB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
            return kb / 1024
        }
        return .nan
    }
}
