import ArgumentParser
import Foundation
import Imaging
import NN
import Tensor

extension BNMode: ExpressibleByArgument {}

/// Which model, with which weights: shared by every command that builds a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Zoo model: \(ModelZoo.names.joined(separator: ", ")).") var model: String?
    @Option(help: "A site's own nn.Sequential model file (YAML); see audits/models/site-cnn.yaml.") var modelFile: String?
    @Option(help: "Weights: safetensors, or a PyTorch checkpoint as torch.save wrote it (.pt, .pth, .pth.tar; read without running any code). Default: seeded initialisation.") var weights: String?
    @Option(help: "The state dict's key inside a training checkpoint (default: state_dict, model_state_dict or model).") var weightsKey: String?
    @Option(help: "Number of classes (zoo models).") var classes: Int = 6
    @Option(help: "Square input size in pixels (zoo models).") var size: Int = 32
    @Option(help: "Seed of the initialisation and of every random draw.") var seed: UInt64 = 1234
    @Option(help: "Batch-norm mode: train (batch statistics) or eval (running statistics).") var bn: BNMode = .train
    @Option(help: "The site's input normalisation, inside the model: imagenet (torchvision's mean/std), or give --mean and --std.") var normalize: String?
    @Option(help: "Per-channel means of the input normalisation, comma-separated (e.g. 0.5,0.5,0.5).") var mean: String?
    @Option(help: "Per-channel standard deviations of the input normalisation, comma-separated.") var std: String?

    /// The normalisation the options give, nil for none.
    func normalization() throws -> InputNormalization? {
        func floats(_ s: String, _ name: String) throws -> [Float] {
            try s.split(separator: ",").map { t in
                guard let v = Float(t.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("\(name): '\(t)' is not a number") }
                return v
            }
        }
        if let n = normalize {
            guard n == "imagenet" else { throw ValidationError("--normalize takes imagenet (or give --mean and --std), got '\(n)'") }
            guard mean == nil && std == nil else { throw ValidationError("give --normalize imagenet or --mean/--std, not both") }
            return .imagenet
        }
        switch (mean, std) {
        case (nil, nil): return nil
        case let (m?, s?):
            do { return try InputNormalization(mean: try floats(m, "--mean"), std: try floats(s, "--std")) } catch let e as ModelError {
                throw ValidationError("\(e)")
            }
        default: throw ValidationError("--mean and --std go together")
        }
    }

    func validate() throws {
        if model == nil && modelFile == nil { throw ValidationError("give --model NAME or --model-file FILE") }
        if model != nil && modelFile != nil { throw ValidationError("give either --model or --model-file, not both") }
        if weightsKey != nil && weights == nil { throw ValidationError("--weights-key names the state dict inside --weights: give --weights too") }
        _ = try normalization()
        guard (2...ModelZoo.maximumClasses).contains(classes) else {
            throw ValidationError("--classes must be between 2 and \(ModelZoo.maximumClasses), got \(classes)")
        }
        guard (4...ModelZoo.maximumSize).contains(size) else {
            throw ValidationError("--size must be between 4 and \(ModelZoo.maximumSize) pixels, got \(size)")
        }
    }

    /// The model and its weights, after checking that `batch` images fit it (batch norm, memory) before any
    /// tensor is made.
    func load(batch: Int) throws -> (model: Model, state: ModelState) {
        try input {
            var m: Model
            if let f = modelFile {
                guard FileManager.default.fileExists(atPath: f) else { throw InputError("model file \(f) does not exist") }
                m = try ModelFile.load(f)
            } else {
                m = try ModelZoo.make(model!, classes: classes, size: size)
            }
            if let n = try normalization() { m = try m.normalizingInput(n) }
            try m.requireFits(batch: batch, bn: bn)
            if let w = weights { return (m, try m.loadState(w, allowMissingBuffers: true, key: weightsKey)) }
            return (m, m.initialState(seed: seed))
        }
    }
}

/// Images and labels given one by one.
struct ImageOptions: ParsableArguments {
    @Option(name: .customLong("image"), help: "A PNG image (repeatable).") var imagePaths: [String] = []
    @Option(name: .customLong("label"), help: "The class index of each --image, in the same order (repeatable).") var labels: [Int] = []

    func load(size: Int, classes: Int) throws -> (x: Tensor, labels: [Int]) {
        guard !imagePaths.isEmpty else { throw InputError("give at least one --image") }
        return try Self.load(paths: imagePaths, labels: labels, size: size, classes: classes)
    }

    static func load(paths: [String], labels: [Int], size: Int, classes: Int) throws -> (x: Tensor, labels: [Int]) {
        guard labels.count == paths.count else {
            throw InputError("\(paths.count) --image but \(labels.count) --label: give one label per image")
        }
        for l in labels where l < 0 || l >= classes { throw InputError("label \(l) is outside 0..<\(classes)") }
        let imgs = try input { try paths.map { try RGBImage(path: $0).fitted(size: size) } }
        var data: [Float] = []
        for im in imgs { data += im.pixels }
        return (Tensor(shape: [imgs.count, 3, size, size], data: data), labels)
    }
}
