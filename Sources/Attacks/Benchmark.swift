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
    /// `dlg` (soft labels, squared L2) or `gradinv` (known labels, one global cosine + 1e-4 TV, as the
    /// anchors' scale224.py).
    public var variant: String = "dlg"
    public let reps: Int
    public let medianMs: Double
    public let minMs: Double
    public let meanMs: Double
    /// FLOPs of one iteration, estimated as 5 forward passes (`ModelInspection`), in GFLOP.
    public var gflopPerIteration: Double? = nil
    /// Achieved rate at the median time, GFLOP/s, and as a percentage of the sgemm rate measured in the same run.
    public var gflops: Double? = nil
    public var percentOfSgemm: Double? = nil
}

public enum Benchmark {
    /// The zoo models made for ImageNet-sized input (a 7x7/2 stem): benchmarked at 224 px unless told.
    public static let imagenetModels: Set<String> = ["resnet18", "resnet34", "resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0"]
    /// A model's natural benchmark size: 224 px for the ImageNet-stem models, 32 px for the papers' small ones.
    public static func naturalSize(_ name: String) -> Int { imagenetModels.contains(name) ? 224 : 32 }

    public static func doubleBackward(model name: String, batch: Int, classes: Int = 6, size: Int = 32, gradInv: Bool = false,
                                      reps: Int, warmup: Int, seed: UInt64 = 1234) throws -> DoubleBackwardTiming {
        let model = try ModelZoo.make(name, classes: classes, size: size)
        try model.requireFits(batch: batch, bn: .train)
        var t = try doubleBackward(model: model, state: model.initialState(seed: seed), bn: .train, batch: batch, gradInv: gradInv,
                                   reps: reps, warmup: warmup, seed: seed)
        t.size = size
        t.gflopPerIteration = 5 * model.forwardFLOPs * Double(batch) / 1e9
        t.gflops = t.gflopPerIteration! / (t.medianMs / 1e3)
        return t
    }

    /// The same timing for any model and weights (`medpfl inspect`).
    public static func doubleBackward(model: Model, state: ModelState, bn: BNMode, batch: Int, gradInv: Bool = false, reps: Int, warmup: Int,
                                      seed: UInt64 = 1234) throws -> DoubleBackwardTiming {
        let name = model.name, classes = model.classes
        var rng = SeededGenerator(seed: seed).derived("bench")
        let shape = [batch] + model.inputShape
        let real = Tensor.uniform(shape, using: &rng)
        let labels = (0..<batch).map { $0 % classes }
        let target = model.gradients(images: real, labels: labels, state: state, bn: bn).grads
        let match = gradInv
            ? GradientMatching(model: model, state: state, bn: bn, target: target, distance: .cosine, tvWeight: 1e-4, labels: .known(labels))
            : GradientMatching(model: model, state: state, bn: bn, target: target, distance: .squaredL2, labels: .soft)
        let x = Tensor.randn(shape, using: &rng).requiringGrad()
        let logits: Tensor? = gradInv ? nil : Tensor.randn([batch, classes], using: &rng).requiringGrad()
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
        var t = DoubleBackwardTiming(model: name, batch: batch, reps: reps, medianMs: median, minMs: sorted[0],
                                     meanMs: times.reduce(0, +) / Double(times.count))
        t.variant = gradInv ? "gradinv" : "dlg"
        return t
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
