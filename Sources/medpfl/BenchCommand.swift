import ArgumentParser
import Attacks
import Foundation
import NN
import Tensor

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time one double-backward evaluation (the unit of every attack) and sgemm; prints JSON.",
        discussion: "Default: DLG evaluations of the papers' small models at 32 px. --only MODEL:BATCH[:SIZE] picks models (a model's natural size: 224 px for resnet18/34/50, densenet121, mobilenet_v2, efficientnet_b0; 32 px otherwise); --gradinv times Inverting Gradients iterations (known labels, one global cosine + TV) instead; --threads 1,2 times each row at 1 and 2 op threads. Each row reports GFLOP/s achieved and its share of the sgemm rate measured in the same run (times the thread count), tensor allocations and page faults per iteration, and peak resident memory.")

    @Flag(help: "Print JSON (the only format; kept for symmetry with other commands).") var json = false
    @Option(help: "Timed evaluations per configuration.") var reps = 50
    @Option(help: "Warm-up evaluations per configuration.") var warmup = 10
    @Flag(help: "Skip resnet18-cifar (its evaluations take far longer than the small models').") var skipResnet = false
    @Option(help: "Only these MODEL:BATCH[:SIZE] entries, comma-separated (e.g. lenet:1,cnn7:1,densenet121:1; SIZE defaults to the model's natural size).") var only: String?
    @Flag(help: "Time Inverting Gradients iterations (known labels, one global cosine + 1e-4 TV) instead of DLG evaluations.") var gradinv = false
    @Flag(help: "Also time every 3x3 and 1x1 convolution shape of ResNet-18/50 at 224 px (forward, input and weight gradients) with its GFLOP/s.") var convs = false
    @Option(help: "Op threads of one evaluation, comma-separated: every row is timed at each (e.g. 1,2).") var threads: String = "1"

    /// The thread counts of --threads.
    func threadCounts() throws -> [Int] {
        let counts = threads.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 != nil && (1...256).contains($0!) }) else {
            throw ValidationError("--threads expects thread counts between 1 and 256, comma-separated (e.g. 1,2), got '\(threads)'")
        }
        return counts.map { $0! }
    }

    func validate() throws {
        guard (1...100_000).contains(reps) else { throw ValidationError("--reps must be between 1 and 100000, got \(reps)") }
        guard (0...100_000).contains(warmup) else { throw ValidationError("--warmup must be between 0 and 100000, got \(warmup)") }
        _ = try threadCounts()
    }

    struct Output: Encodable {
        let tool: String, version: String, threads: [Int], blasCore: String
        let doubleBackward: [DoubleBackwardTiming]
        let convolutions: [ConvTiming]?
        /// sgemm 512^3 on one thread (the yardstick of percentOfSgemm), and at each thread count.
        let sgemm512GFLOPS: Double
        let sgemm512GFLOPSByThreads: [String: Double]
        let peakResidentMiB: Double
    }

    func run() throws {
        var rows: [DoubleBackwardTiming] = []
        var configs: [(String, Int, Int, Int)] = [("lenet", 1, reps, 32), ("lenet", 4, reps, 32), ("lenet", 8, reps, 32), ("cnn7", 1, reps, 32)]
        if !skipResnet { configs.append(("resnet18-cifar", 1, max(5, reps / 5), 32)) }
        if let o = only {
            configs = try o.split(separator: ",").map { item in
                let parts = item.split(separator: ":")
                guard parts.count == 2 || parts.count == 3, let b = Int(parts[1]), (1...4096).contains(b) else {
                    throw InputError("--only expects MODEL:BATCH[:SIZE] entries, got '\(item)'")
                }
                let size = parts.count == 3 ? Int(parts[2]) : Benchmark.naturalSize(String(parts[0]))
                guard let s = size, (4...ModelZoo.maximumSize).contains(s) else { throw InputError("--only: bad size in '\(item)'") }
                let heavy = parts[0].hasPrefix("resnet") || parts[0].hasPrefix("dense") || parts[0].hasPrefix("efficient") || parts[0].hasPrefix("mobile")
                return (String(parts[0]), b, heavy ? max(heavy && s >= 128 ? 3 : 5, reps / 5) : reps, s)
            }
        }
        let counts = try threadCounts()
        for (m, b, r, s) in configs {
            for t in counts {
                var row = try input { try Benchmark.doubleBackward(model: m, batch: b, size: s, gradInv: gradinv, threads: t, reps: r,
                                                                   warmup: s >= 128 ? 2 : (m.hasPrefix("resnet") ? 1 : warmup)) }
                row.threads = t
                note("\(m) batch \(b) at \(s) px, \(t) thread\(t == 1 ? "" : "s"): median \(String(format: "%.3f", row.medianMs)) ms, min \(String(format: "%.3f", row.minMs)) ms")
                rows.append(row)
            }
        }
        let g = Benchmark.sgemmGFLOPS()
        var byThreads: [String: Double] = ["1": g]
        for t in counts where t > 1 { byThreads[String(t)] = Benchmark.sgemmGFLOPS(threads: t) }
        // The share of the machine's limit: t threads can reach t times one thread's sgemm rate.
        rows = rows.map { var t = $0; t.percentOfSgemm = t.gflops.map { 100 * $0 / (g * Double(t.threads)) }; return t }
        let convRows = convs ? counts.flatMap { Benchmark.convLayers(threads: $0, reps: 5, sgemm: g) } : nil
        for r in convRows ?? [] {
            note("\(r.layer) \(r.pass), \(r.threads) thread\(r.threads == 1 ? "" : "s"): \(String(format: "%.2f ms, %.1f GFLOP/s (%.0f%% of sgemm)", r.medianMs, r.gflops, r.percentOfSgemm ?? 0))")
        }
        try printJSON(Output(tool: "medpfl", version: medpflVersion, threads: counts, blasCore: Engine.blasCore, doubleBackward: rows, convolutions: convRows,
                             sgemm512GFLOPS: g, sgemm512GFLOPSByThreads: byThreads, peakResidentMiB: Benchmark.peakResidentMiB()))
    }
}
