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
    @Option(name: .customLong("label"), help: "The class index of each --image (or of each image of --tensor), in the same order (repeatable).") var labels: [Int] = []
    @Option(name: .customLong("tensor"), help: ArgumentHelp("An exact input batch instead of --image: a float32 NCHW pixel-space tensor in [0, 1] from a safetensors file (KEY defaults to x, or its only tensor).", valueName: "file.safetensors[:KEY]"))
    var tensor: String?

    /// How many images the options give.
    var count: Int { tensor == nil ? imagePaths.count : labels.count }

    /// The batch, its labels and a name per image (paths, or "FILE[i]" for --tensor).
    func load(shape: [Int], classes: Int) throws -> (x: Tensor, labels: [Int], names: [String]) {
        if let t = tensor {
            guard imagePaths.isEmpty else { throw InputError("give --image or --tensor, not both") }
            let b = try Self.loadTensor(t, labels: labels, shape: shape, classes: classes)
            return (b.x, labels, (0..<labels.count).map { "\(t)[\($0)]" })
        }
        guard !imagePaths.isEmpty else { throw InputError("give at least one --image (or --tensor)") }
        let b = try Self.load(paths: imagePaths, labels: labels, size: shape[1], classes: classes)
        return (b.x, b.labels, imagePaths)
    }

    /// A pixel-space batch from a safetensors file, checked against the model's input shape and the labels.
    static func loadTensor(_ spec: String, labels: [Int], shape: [Int], classes: Int) throws -> (x: Tensor, labels: [Int]) {
        var file = spec, key: String? = nil
        if let colon = spec.lastIndex(of: ":"), !FileManager.default.fileExists(atPath: spec) {
            file = String(spec[..<colon]); key = String(spec[spec.index(after: colon)...])
        }
        let stored = try input { try Safetensors.read(file) }
        let name: String
        if let k = key { name = k } else if stored.tensors["x"] != nil { name = "x" } else if stored.names.count == 1 { name = stored.names[0] } else {
            throw InputError("\(file) holds \(stored.names.count) tensors and none is named x: give --tensor \(file):KEY")
        }
        guard let t = stored.tensors[name] else { throw InputError("\(file) has no tensor '\(name)' (it has \(stored.names.prefix(8).joined(separator: ", ")))") }
        guard t.shape.count == 4, Array(t.shape.dropFirst()) == shape else {
            throw InputError("tensor '\(name)' of \(file) has shape \(t.shape); the model takes N x \(shape.map(String.init).joined(separator: " x "))")
        }
        guard t.shape[0] >= 1, labels.count == t.shape[0] else {
            throw InputError("tensor '\(name)' holds \(t.shape[0]) images but \(labels.count) --label were given: give one label per image")
        }
        for l in labels where l < 0 || l >= classes { throw InputError("label \(l) is outside 0..<\(classes)") }
        guard t.floats.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw InputError("tensor '\(name)' of \(file) has values outside [0, 1]: --tensor takes pixel-space images (the model's normalisation is --normalize)")
        }
        return (t.tensor, labels)
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
