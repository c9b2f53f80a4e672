import ArgumentParser
import Foundation
import NN
import Tensor

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Compute the update a client sends (what an attacker intercepts) and write it as safetensors.",
        discussion: """
        Writes the parameter gradients of the mean cross-entropy over the batch, one tensor per parameter, \
        keyed by PyTorch state-dict name. The file's metadata records the model, batch size and BN mode, \
        never the images or labels.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var images: ImageOptions
    @Option(help: "Output file (created owner-only, 0600).") var out: String

    func run() throws {
        let loaded = try model.load()
        let batch = try images.load(size: loaded.model.inputShape[1], classes: loaded.model.classes)
        let (loss, grads) = loaded.model.gradients(images: batch.x, labels: batch.labels, state: loaded.state, bn: model.bn)
        guard loss.isFinite else { throw InputError("the loss is not finite for these weights and images") }
        let named = zip(loaded.model.parameterNames, grads).map { ($0, $1) }
        try input {
            try Safetensors.write(named, metadata: ["format": "medpfl-update", "model": loaded.model.name,
                                                   "classes": "\(loaded.model.classes)", "batch": "\(batch.labels.count)",
                                                   "bn": model.bn.rawValue, "kind": "fedsgd-gradient"], to: out)
        }
        note("wrote \(out): \(grads.count) tensors, \(loaded.model.parameterCount) values, batch \(batch.labels.count)")
    }
}
