import ArgumentParser
import Attacks
import Foundation
import NN
import SafeIO

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a model as medpfl sees it: parameters and buffers, ops, input and normalisation, cost, and which attacks apply.",
        discussion: """
        FLOPs count a multiply-add as 2; one attack iteration (forward, parameter gradients with their graph, \
        and the gradient of the matching loss with respect to the dummy input) is estimated as 5 forward passes, \
        and timed on this machine unless --no-timing.
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Images per attacked update.") var batch: Int = 1
    @Flag(help: "Do not time an attack iteration.") var noTiming = false
    @Flag(help: "Print JSON on stdout.") var json = false

    func validate() throws {
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be between 1 and 4096, got \(batch)") }
    }

    func run() throws {
        let loaded = try model.load(batch: batch)
        let i = try input { try ModelInspection.inspect(loaded.model, state: loaded.state, bn: model.bn, batch: batch, measure: !noTiming) }
        if json { try printJSON(i); return }
        print("Model \(i.model) (\(i.format)): input \(i.input.map(String.init).joined(separator: "x")) pixels"
              + (i.normalization.map { ", normalised \($0.inWords)" } ?? ", not normalised") + ", \(i.classes) classes")
        print("Parameters: \(i.parameterCount) values in \(i.parameters.count) tensors; buffers: \(i.buffers.count) tensors")
        print(textTable(header: ["Name", "Shape", "Values"], rows: i.parameters.map { [$0.name, $0.shape.map(String.init).joined(separator: "x"), String($0.values)] }
                        + i.buffers.map { [$0.name + " (buffer)", $0.shape.isEmpty ? "scalar" : $0.shape.map(String.init).joined(separator: "x"), String($0.values)] }))
        print("Ops: " + i.ops.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
        print(String(format: "Cost for a batch of %d: forward %.4g GFLOP; one attack iteration about %.4g GFLOP", i.batch, i.forwardGFLOP, i.attackIterationGFLOP)
              + (i.measuredIterationMs.map { String(format: ", measured %.3g ms here", $0) } ?? "")
              + "; memory for an attack about \(byteCount(Int64(min(i.memoryEstimateBytes, 9e18))))")
        print("Attacks:")
        for a in i.attacks { print("  \(a.attack): " + (a.applies ? "applies" : "does not apply (\(a.why ?? ""))")) }
    }
}
