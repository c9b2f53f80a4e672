import ArgumentParser
import Federated
import Foundation

struct DPEpsilonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-epsilon",
        abstract: "Epsilon of DP-SGD (RDP accountant, as Opacus), or the noise multiplier for a target epsilon.",
        discussion: """
        --sigma gives epsilon for --steps applications of the sampled Gaussian mechanism at --sample-rate and \
        --delta; --target-epsilon (instead of --sigma) gives the smallest noise multiplier Opacus's bisection \
        finds for that budget. Prints the answer (one number), or JSON with --json.
        """)

    @Option(help: "Noise multiplier (noise std / clipping norm).") var sigma: Double?
    @Option(help: "Find the noise multiplier for this epsilon instead.") var targetEpsilon: Double?
    @Option(help: "Poisson sampling rate (batch size / data set size).") var sampleRate: Double = 1
    @Option(help: "Number of noisy steps.") var steps: Int = 1
    @Option(help: "Delta of (epsilon, delta)-DP.") var delta: Double = 1e-5
    @Flag(help: "Print JSON on stdout.") var json = false

    func run() throws {
        let q = try input { try EpsilonQuery(sigma: sigma, targetEpsilon: targetEpsilon, sampleRate: sampleRate, steps: steps, delta: delta) }
        if json { try printJSON(q); return }
        if targetEpsilon != nil {
            print("sigma \(q.sigma) (epsilon \(q.epsilon) at delta \(q.delta), sample rate \(q.sampleRate), \(q.steps) steps)")
        } else {
            print("epsilon \(q.epsilon) (sigma \(q.sigma), delta \(q.delta), sample rate \(q.sampleRate), \(q.steps) steps, best order \(q.bestOrder))")
        }
    }
}
