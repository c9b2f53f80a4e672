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
    /// Op threads of the timed evaluations (`OpThreads`).
    public var threads: Int = 1
    /// Tensor buffers allocated per timed evaluation, and their size (malloc reuses freed memory; see
    /// `minorFaultsPerIteration` for whether new pages were touched).
    public var allocationsPerIteration: Double? = nil
    public var allocatedMiBPerIteration: Double? = nil
    /// Minor page faults per timed evaluation: ~0 once the heap has grown to the iteration's working set.
    public var minorFaultsPerIteration: Double? = nil
    /// The process's peak resident memory during this row (VmHWM, reset before the row where the kernel allows).
    public var peakResidentMiB: Double? = nil
}

public enum Benchmark {
    /// The zoo models made for ImageNet-sized input (a 7x7/2 stem): benchmarked at 224 px unless told.
    public static let imagenetModels: Set<String> = ["resnet18", "resnet34", "resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0"]
    /// A model's natural benchmark size: 224 px for the ImageNet-stem models, 32 px for the papers' small ones.
    public static func naturalSize(_ name: String) -> Int { imagenetModels.contains(name) ? 224 : 32 }

    public static func doubleBackward(model name: String, batch: Int, classes: Int = 6, size: Int = 32, gradInv: Bool = false,
                                      threads: Int = 1, reps: Int, warmup: Int, seed: UInt64 = 1234) throws -> DoubleBackwardTiming {
        let model = try ModelZoo.make(name, classes: classes, size: size)
        try model.requireFits(batch: batch, bn: .train)
        resetPeakResident()
        var t = try doubleBackward(model: model, state: model.initialState(seed: seed), bn: .train, batch: batch, gradInv: gradInv,
                                   threads: threads, reps: reps, warmup: warmup, seed: seed)
        t.peakResidentMiB = peakResidentMiB()
        t.size = size
        t.gflopPerIteration = 5 * model.forwardFLOPs * Double(batch) / 1e9
        t.gflops = t.gflopPerIteration! / (t.medianMs / 1e3)
        return t
    }

    /// The same timing for any model and weights (`medpfl inspect`).
    public static func doubleBackward(model: Model, state: ModelState, bn: BNMode, batch: Int, gradInv: Bool = false, threads: Int = 1,
                                      reps: Int, warmup: Int, seed: UInt64 = 1234) throws -> DoubleBackwardTiming {
        try OpThreads.with(threads: threads) {
            try timeEvaluations(model: model, state: state, bn: bn, batch: batch, gradInv: gradInv, reps: reps, warmup: warmup, seed: seed, threads: threads)
        }
    }

    private static func timeEvaluations(model: Model, state: ModelState, bn: BNMode, batch: Int, gradInv: Bool, reps: Int, warmup: Int,
                                        seed: UInt64, threads: Int) throws -> DoubleBackwardTiming {
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
        let faults0 = minorFaults()
        TensorAllocations.counting = true
        let alloc0 = TensorAllocations.totals
        defer { TensorAllocations.counting = false }
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
        let alloc1 = TensorAllocations.totals
        t.threads = threads
        t.allocationsPerIteration = Double(alloc1.buffers - alloc0.buffers) / Double(reps)
        t.allocatedMiBPerIteration = Double(alloc1.bytes - alloc0.bytes) / Double(reps) / 1_048_576
        t.minorFaultsPerIteration = Double(minorFaults() - faults0) / Double(reps)
        return t
    }

    /// sgemm throughput on n x n x n on `threads` op threads, in GFLOP/s (best of `reps`).
    public static func sgemmGFLOPS(n: Int = 512, reps: Int = 10, threads: Int = 1) -> Double {
        var rng = SeededGenerator(seed: 7)
        let a = Tensor.uniform([n, n], using: &rng), b = Tensor.uniform([n, n], using: &rng)
        var best = Double.infinity
        OpThreads.with(threads: threads) {
            for _ in 0..<reps {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = matmul(a, b)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// Minor page faults of this process so far.
    static func minorFaults() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_minflt
    }

    /// Resets the peak resident size (VmHWM) to the current one (Linux: writing 5 to clear_refs); ignored where refused.
    static func resetPeakResident() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") { h.write(Data("5".utf8)); try? h.close() }
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
