import ArgumentParser
import Foundation
import Imaging
import NN
import Tensor
import Federated

extension BNMode: ExpressibleByArgument {}
extension ResizeMethod: ExpressibleByArgument {}

/// Which model, with which weights: shared by every command that builds a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Zoo model (\(ModelZoo.names.joined(separator: ", "))) or a model file: the site's ONNX export (.onnx) or an nn.Sequential YAML.") var model: String?
    @Option(help: "A site's own model file: an ONNX export (.onnx) or an nn.Sequential YAML (see audits/models/site-cnn.yaml).") var modelFile: String?
    @Option(help: "Weights: safetensors, or a PyTorch checkpoint as torch.save wrote it (.pt, .pth, .pth.tar; read without running any code). Default: seeded initialisation.") var weights: String?
    @Option(help: "The state dict's key inside a training checkpoint (default: state_dict, model_state_dict or model).") var weightsKey: String?
    @Option(help: "Number of classes (zoo models).") var classes: Int = 6
    @Option(help: "Square input size in pixels (zoo models; a shortcut for --input 3xSIZExSIZE).") var size: Int = 32
    @Option(name: .customLong("input"), help: ArgumentHelp("The model's input, channels x height x width (1 or 3 channels; zoo models are square). A model file fixes its own input: if given, it must agree.", valueName: "CxHxW")) var inputSpec: String?
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

    /// The model file the options name: --model-file, or --model given a path instead of a zoo name.
    var file: String? {
        if let f = modelFile { return f }
        if let m = model, !ModelZoo.names.contains(m) && (m.contains("/") || [".onnx", ".yaml", ".yml"].contains { m.lowercased().hasSuffix($0) }) { return m }
        return nil
    }

    /// --input as (channels, height, width), nil when not given.
    func inputShape() throws -> [Int]? {
        guard let i = inputSpec else { return nil }
        let parts = i.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 3, let c = parts[0], let h = parts[1], let w = parts[2] else {
            throw ValidationError("--input takes CxHxW, e.g. 3x224x224 or 1x256x256, got '\(i)'")
        }
        guard c == 1 || c == 3 else { throw ValidationError("--input: medpfl reads 1-channel (gray) or 3-channel (RGB) images, got \(c) channels") }
        guard (4...ModelZoo.maximumSize).contains(h), (4...ModelZoo.maximumSize).contains(w) else {
            throw ValidationError("--input: height and width must be between 4 and \(ModelZoo.maximumSize) pixels, got \(h)x\(w)")
        }
        return [c, h, w]
    }

    func validate() throws {
        if model == nil && modelFile == nil { throw ValidationError("give --model NAME (or a model file) or --model-file FILE") }
        if model != nil && modelFile != nil { throw ValidationError("give either --model or --model-file, not both") }
        if weightsKey != nil && weights == nil { throw ValidationError("--weights-key names the state dict inside --weights: give --weights too") }
        _ = try normalization()
        if let shape = try inputShape(), file == nil, shape[1] != shape[2] {
            throw ValidationError("--input \(inputSpec!): zoo models take square inputs (height = width)")
        }
        guard (2...ModelZoo.maximumClasses).contains(classes) else {
            throw ValidationError("--classes must be between 2 and \(ModelZoo.maximumClasses), got \(classes)")
        }
        guard (4...ModelZoo.maximumSize).contains(size) else {
            throw ValidationError("--size must be between 4 and \(ModelZoo.maximumSize) pixels, got \(size)")
        }
    }

    /// The model and its weights, after checking that `batch` images fit it (batch norm, memory) before any
    /// tensor is made (`secondOrder`: the memory of a gradient-matching attack, else of one gradient).
    func load(batch: Int, secondOrder: Bool = true) throws -> (model: Model, state: ModelState) {
        try input {
            var m: Model
            let shape = try inputShape()
            if let f = file {
                guard FileManager.default.fileExists(atPath: f) else { throw InputError("model file \(f) does not exist") }
                m = try ModelFile.load(f)
                if let s = shape, s != m.inputShape {
                    throw InputError("--input \(inputSpec!) differs from the model file's input \(m.inputShape.map(String.init).joined(separator: "x"))")
                }
            } else {
                m = try ModelZoo.make(model!, classes: classes, size: shape?[1] ?? size, channels: shape?[0] ?? 3)
            }
            if let n = try normalization() { m = try m.normalizingInput(n) }
            try m.requireFits(batch: batch, bn: bn, secondOrder: secondOrder)
            if let w = weights { return (m, try m.loadState(w, allowMissingBuffers: true, key: weightsKey)) }
            return (m, m.initialState(seed: seed))
        }
    }
}

/// Images and labels given one by one.
struct ImageOptions: ParsableArguments {
    @Option(name: .customLong("image"), help: "An image file, PNG or DICOM (repeatable).") var imagePaths: [String] = []
    @Option(name: .customLong("label"), help: "The class index of each --image (or of each image of --tensor), in the same order (repeatable).") var labels: [Int] = []
    @Option(help: "How --image files are resized to the model's input: area, bilinear (PIL's, antialiased, as torchvision's Resize), lanczos, or interpolate (F.interpolate).")
    var resize: ResizeMethod = .area
    @Option(help: "How a DICOM image is windowed: dicom (the file's own VOI), auto (percentiles) or CENTER,WIDTH in modality units.")
    var window: String = "dicom"
    @Option(help: "The 0-based frame of a multi-frame DICOM --image (default: its middle frame).") var frame: Int?
    @Option(name: .customLong("tensor"), help: ArgumentHelp("An exact input batch instead of --image: a float32 NCHW pixel-space tensor in [0, 1] from a safetensors file (KEY defaults to x, or its only tensor).", valueName: "file.safetensors[:KEY]"))
    var tensor: String?

    /// How many images the options give.
    var count: Int { tensor == nil ? imagePaths.count : labels.count }

    /// How image files are decoded (DICOM window and frame).
    var readOptions: ImageReadOptions {
        ImageReadOptions(window: WindowChoice(window) ?? .dicom, frames: frame.map { .index($0) } ?? .middle)
    }

    func validate() throws {
        if WindowChoice(window) == nil { throw ValidationError("--window is \(WindowChoice.accepted), got '\(window)'") }
        if let f = frame, f < 0 { throw ValidationError("--frame is a 0-based index, got \(f)") }
    }

    /// The batch, its labels and a name per image (paths, or "FILE[i]" for --tensor).
    func load(shape: [Int], classes: Int) throws -> (x: Tensor, labels: [Int], names: [String]) {
        if let t = tensor {
            guard imagePaths.isEmpty else { throw InputError("give --image or --tensor, not both") }
            let b = try Self.loadTensor(t, labels: labels, shape: shape, classes: classes)
            return (b.x, labels, (0..<labels.count).map { "\(t)[\($0)]" })
        }
        guard !imagePaths.isEmpty else { throw InputError("give at least one --image (or --tensor)") }
        guard shape[1] == shape[2] else { throw InputError("the model takes \(shape[1])x\(shape[2]) images; --image is resized to squares: give --tensor") }
        let b = try Self.load(paths: imagePaths, labels: labels, size: shape[1], channels: shape[0], method: resize, classes: classes,
                              options: readOptions)
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

    /// Images resized to `size` squares; a 1-channel model gets their luma (PIL's convert('L'), taken before
    /// resizing), a 3-channel one RGB (gray sources replicated).
    static func load(paths: [String], labels: [Int], size: Int, channels: Int = 3, method: ResizeMethod = .area, classes: Int,
                     options: ImageReadOptions = .standard) throws -> (x: Tensor, labels: [Int]) {
        guard labels.count == paths.count else {
            throw InputError("\(paths.count) --image but \(labels.count) --label: give one label per image")
        }
        for l in labels where l < 0 || l >= classes { throw InputError("label \(l) is outside 0..<\(classes)") }
        let imgs = try input { try paths.map { p -> RGBImage in
            let img = try ImageReader.image(path: p, options: options)
            return (channels == 1 ? img.grayscale() : img).fitted(size: size, method: method)
        } }
        guard channels == 1 || channels == 3 else { throw InputError("the model takes \(channels)-channel input; --image gives 1 (gray) or 3 (RGB): give --tensor") }
        var data: [Float] = []
        for im in imgs { data += im.pixels.prefix(channels * size * size) }
        return (Tensor(shape: [imgs.count, channels, size, size], data: data), labels)
    }
}

/// `--jobs` and `--threads`: how a run spreads over the cores (`Parallelism`).
struct ParallelOptions: ParsableArguments {
    @Option(help: "Independent jobs (trials, attacked updates, clients) at once (default: the cores over --threads).") var jobs: Int?
    @Option(help: "Threads for the ops of one job (default: the cores over --jobs; jobs x threads = cores). Once no job waits, the cores of finished jobs go to the last ones. Results are the same bit for bit at any count.") var threads: Int?

    func validate() throws {
        if let j = jobs, !(1...4096).contains(j) { throw ValidationError("--jobs must be between 1 and 4096, got \(j)") }
        if let t = threads, !(1...4096).contains(t) { throw ValidationError("--threads must be between 1 and 4096, got \(t)") }
    }

    var resolved: Parallelism { Parallelism.resolve(jobs: jobs, threads: threads) }
}
