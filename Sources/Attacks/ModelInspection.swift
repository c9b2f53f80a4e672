import Foundation
import NN
import SafeIO

/// What `medpfl inspect` reports about a model: its state dict, ops, input, cost, and which attacks apply.
public struct ModelInspection: Encodable, Sendable {
    public struct NamedShape: Encodable, Sendable { public let name: String; public let shape: [Int]; public let values: Int }
    public struct Applicability: Encodable, Sendable { public let attack: String; public let applies: Bool; public let why: String? }

    public let model: String
    /// Where the architecture came from: zoo, model file, or the ONNX opset and batch of the export.
    public let format: String
    /// C, H, W of one image, in pixels (before any normalisation).
    public let input: [Int]
    public let normalization: InputNormalization?
    public let classes: Int
    public let parameters: [NamedShape]
    public let buffers: [NamedShape]
    public let parameterCount: Int
    public let ops: [String: Int]
    public let batch: Int
    /// One forward pass of the batch, in GFLOP (a multiply-add counts 2).
    public let forwardGFLOP: Double
    /// One attack iteration (forward, parameter gradients with their graph, and the matching loss's gradient
    /// with respect to the dummy input), estimated as 5 forward passes.
    public let attackIterationGFLOP: Double
    /// `Model.memoryEstimate` for the batch.
    public let memoryEstimateBytes: Double
    /// One attack iteration timed on this machine (median of a few), nil when not measured.
    public let measuredIterationMs: Double?
    public let attacks: [Applicability]

    /// Inspects `model` (with `state`) for a batch of `batch` images; `measure` times a few attack iterations.
    public static func inspect(_ model: Model, state: ModelState, bn: BNMode, batch: Int, measure: Bool) throws -> ModelInspection {
        func shapes(_ specs: [TensorSpec]) -> [NamedShape] { specs.map { NamedShape(name: $0.name, shape: $0.shape, values: $0.shape.reduce(1, *)) } }
        let forward = model.forwardFLOPs * Double(batch) / 1e9
        var ms: Double? = nil
        if measure {
            try model.requireFits(batch: batch, bn: bn)
            ms = try Benchmark.doubleBackward(model: model, state: state, bn: bn, batch: batch, reps: 3, warmup: 1).medianMs
        }
        let attacks = AttackRegistry.all.map { m -> Applicability in
            let why = m.inapplicability(model: model, batchSize: batch)
            return Applicability(attack: m.key, applies: why == nil, why: why)
        }
        return ModelInspection(model: model.name, format: model.format, input: model.inputShape, normalization: model.inputNormalization, classes: model.classes,
                               parameters: shapes(model.parameters), buffers: shapes(model.buffers), parameterCount: model.parameterCount,
                               ops: model.opCounts, batch: batch, forwardGFLOP: forward, attackIterationGFLOP: 5 * forward,
                               memoryEstimateBytes: model.memoryEstimate(batch: batch), measuredIterationMs: ms, attacks: attacks)
    }
}
