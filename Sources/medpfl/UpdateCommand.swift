import ArgumentParser
import Federated
import Foundation
import NN
import Tensor

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Compute the update a client sends (what an attacker intercepts) and write it as safetensors.",
        discussion: """
        Writes the parameter gradients of the mean cross-entropy over the batch (FedSGD), or with \
        --fedavg-steps S the FedAvg weight difference w0 - wS after S local SGD steps on the whole batch \
        (same sign as a gradient), one tensor per parameter, keyed by PyTorch state-dict name, after the \
        --defense has been applied on the client. With secagg:clients=K the images are split over K clients \
        and the file holds what the server sees: the mean of the K masked-and-summed updates. The file's \
        metadata records the model, batch size, clients, update kind, BN mode and defence, never the \
        images or labels. --json prints what the defence did (SNR, fraction changed, epsilon).
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var images: ImageOptions
    @OptionGroup var defence: DefenceOptions
    @OptionGroup var fedavg: FedAvgOptions
    @Option(help: "Output file (created owner-only, 0600).") var out: String
    @Flag(help: "Print what the defence did as JSON on stdout.") var json = false

    struct Output: Encodable { let file: String; let batch: Int; let tensors: Int; let values: Int; let defence: DefenceReport }

    func run() throws {
        let spec = try defence.spec()
        let kind = try fedavg.kind()
        let loaded = try model.load(batch: max(1, images.count))
        let batch = try images.load(shape: loaded.model.inputShape, classes: loaded.model.classes)
        let round = try input {
            try InterceptedRound.simulate(kind, model: loaded.model, state: loaded.state, images: batch.x, labels: batch.labels,
                                          bn: model.bn, defence: spec, seed: SeededGenerator(seed: model.seed).derived("defence").seed)
        }
        guard round.update.flatValues.allSatisfy(\.isFinite) else { throw InputError("the update is not finite for these weights and images") }
        try input {
            try Safetensors.write(round.update.pairs.map { ($0.name, $0.value) },
                                  metadata: round.metadata(model: loaded.model, bn: model.bn, defence: spec), to: out)
        }
        note("wrote \(out): \(round.update.tensorCount) tensors, \(loaded.model.parameterCount) values, batch \(round.batchSize), "
             + "\(kind.label), defence: \(spec.label)")
        if json {
            try printJSON(Output(file: out, batch: round.batchSize, tensors: round.update.tensorCount,
                                 values: round.update.scalarCount, defence: DefenceReport(spec: spec, kind: kind, rounds: [round])))
        }
    }
}
