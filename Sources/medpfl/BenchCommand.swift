import ArgumentParser
import Attacks
import Foundation
import NN

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time one double-backward evaluation (the unit of every attack) and sgemm; prints JSON.",
        discussion: "Default: DLG evaluations of the papers' small models at 32 px. --only MODEL:BATCH[:SIZE] picks models (a model's natural size: 224 px for resnet18/34/50, densenet121, mobilenet_v2, efficientnet_b0; 32 px otherwise); --gradinv times Inverting Gradients iterations (known labels, one global cosine + TV) instead. Each row reports GFLOP/s achieved and its share of the sgemm rate measured in the same run.")

    @Flag(help: "Print JSON (the only format; kept for symmetry with other commands).") var json = false
    @Option(help: "Timed evaluations per configuration.") var reps = 50
    @Option(help: "Warm-up evaluations per configuration.") var warmup = 10
    @Flag(help: "Skip resnet18-cifar (its evaluations take far longer than the small models').") var skipResnet = false
    @Option(help: "Only these MODEL:BATCH[:SIZE] entries, comma-separated (e.g. lenet:1,cnn7:1,densenet121:1; SIZE defaults to the model's natural size).") var only: String?
    @Flag(help: "Time Inverting Gradients iterations (known labels, one global cosine + 1e-4 TV) instead of DLG evaluations.") var gradinv = false

    func validate() throws {
        guard (1...100_000).contains(reps) else { throw ValidationError("--reps must be between 1 and 100000, got \(reps)") }
        guard (0...100_000).contains(warmup) else { throw ValidationError("--warmup must be between 0 and 100000, got \(warmup)") }
    }

    struct Output: Encodable {
        let tool: String, version: String, threads: Int
        let doubleBackward: [DoubleBackwardTiming]
        let sgemm512GFLOPS: Double
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
        for (m, b, r, s) in configs {
            let t = try input { try Benchmark.doubleBackward(model: m, batch: b, size: s, gradInv: gradinv, reps: r, warmup: m.hasPrefix("resnet") || s >= 128 ? 1 : warmup) }
            note("\(m) batch \(b) at \(s) px: median \(String(format: "%.3f", t.medianMs)) ms, min \(String(format: "%.3f", t.minMs)) ms")
            rows.append(t)
        }
        let g = Benchmark.sgemmGFLOPS()
        rows = rows.map { var t = $0; t.percentOfSgemm = t.gflops.map { 100 * $0 / g }; return t }
        try printJSON(Output(tool: "medpfl", version: medpflVersion, threads: 1, doubleBackward: rows,
                             sgemm512GFLOPS: g, peakResidentMiB: Benchmark.peakResidentMiB()))
    }
}
