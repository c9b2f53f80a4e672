import Foundation
import SafeIO
import SwiftProtobuf
import Tensor

/// A site's model exported by `torch.onnx.export`, read with swift-protobuf (messages generated from
/// onnx.proto by scripts/generate_onnx_proto.sh).
///
/// What medpfl takes from the file: the graph (nodes in the file's order, which ONNX requires to be
/// topological), the initializers as the model's weights (names kept: the exporter keeps them equal to
/// `state_dict` keys), and the input shape. BatchNormalization's mean and variance initializers are
/// buffers; every other float initializer read by a node is a trainable parameter. Shape arithmetic is
/// evaluated when the graph is made for a batch size (`OnnxProgram`).
public enum OnnxFile {
    /// Opsets whose semantics the importer follows (torchvision and MONAI exports use 13 to 18).
    public static let opsets = 13...21

    /// True when `path` names an ONNX file (by its extension).
    public static func isOnnx(_ path: String) -> Bool { path.lowercased().hasSuffix(".onnx") }

    public static func load(_ path: String) throws -> Model {
        let data: Data
        do { data = try BoundedFile.read(path, limit: BoundedFile.Limit.tensors, what: "ONNX model") } catch let e as FileError {
            throw ModelError.badModelFile(path, e.problem)
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> Model {
        func fail(_ m: String) -> ModelError { .badModelFile(source, m) }
        let proto: Onnx_ModelProto
        do { proto = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw fail("is not a valid ONNX file (truncated or corrupt protobuf: \(error))")
        }
        guard proto.hasGraph, !proto.graph.node.isEmpty else { throw fail("holds no graph (truncated, or not an ONNX model)") }
        let opset = proto.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version ?? 0
        guard opsets.contains(Int(opset)) else {
            throw fail("uses ONNX opset \(opset); medpfl reads opsets \(opsets.lowerBound)-\(opsets.upperBound) (export with opset_version=17)")
        }
        let g = proto.graph
        var initializers: [String: OnnxTensor] = [:]
        var order: [String] = []
        for t in g.initializer {
            guard initializers[t.name] == nil else { throw fail("initializer '\(t.name)' appears twice") }
            initializers[t.name] = try OnnxTensor(t, source: source)
            order.append(t.name)
        }
        let inputs = g.input.filter { initializers[$0.name] == nil }
        guard inputs.count == 1 else {
            throw fail("has \(inputs.count) graph inputs (\(inputs.map(\.name).joined(separator: ", "))); medpfl audits classifiers of one image input")
        }
        let dims = inputs[0].type.tensorType.shape.dim
        guard dims.count == 4 else { throw fail("input '\(inputs[0].name)' has rank \(dims.count); medpfl audits 2-D image classifiers (N x C x H x W)") }
        func fixed(_ d: Onnx_TensorShapeProto.Dimension) -> Int? {
            if case .dimValue(let v)? = d.value, v > 0, v < 1 << 31 { return Int(v) }
            return nil
        }
        let chw = dims.dropFirst().map { fixed($0) ?? -1 }
        guard chw.allSatisfy({ $0 > 0 }), chw[0] <= 4096, chw[1] <= ModelZoo.maximumSize, chw[2] <= ModelZoo.maximumSize else {
            throw fail("input '\(inputs[0].name)' must have fixed channels, height and width (got \(chw.map { $0 > 0 ? String($0) : "?" }))")
        }
        let fixedBatch = fixed(dims[0])
        guard g.output.count == 1 else { throw fail("has \(g.output.count) outputs; medpfl audits classifiers with one output (the logits)") }

        // Which initializers are buffers (batch norm's statistics), parameters (other floats read as data), constants.
        var bnStats: Set<String> = []
        for n in g.node where n.opType == "BatchNormalization" && n.input.count >= 5 { bnStats.insert(n.input[3]); bnStats.insert(n.input[4]) }
        // The exporter keeps one initializer for equal tensors (zero biases, say) and names the others with
        // Identity nodes: each such name is a parameter of its own in PyTorch, so it becomes one here.
        var nodes = g.node
        var copies: [(name: String, of: String)] = []
        nodes.removeAll { n in
            guard n.opType == "Identity", n.input.count == 1, n.output.count == 1, let t = initializers[n.input[0]], t.isFloat,
                  !bnStats.contains(n.input[0]), initializers[n.output[0]] == nil else { return false }
            copies.append((n.output[0], n.input[0]))
            return true
        }
        var used: Set<String> = Set(copies.map(\.of))
        for n in nodes { for i in n.input { used.insert(i) } }
        var parameterNames: [(name: String, of: String)] = []
        var buffers: [TensorSpec] = []
        var values: [String: OnnxValue] = [:]
        for name in order where used.contains(name) {
            let t = initializers[name]!
            if t.isFloat && !bnStats.contains(name) { parameterNames.append((name, name)) }
            else if let f = t.floats, t.isFloat {
                buffers.append(TensorSpec(name: name, shape: t.shape, isParameter: false, initializer: .values(f)))
                values[name] = .live(.buffer(buffers.count - 1), t.shape)
            } else {
                values[name] = .known(t.folded)
            }
        }
        // A copy goes where PyTorch registers it: after the parameter sharing the longest module path.
        for c in copies {
            func shared(_ a: String) -> Int { zip(a.split(separator: "."), c.name.split(separator: ".")).prefix { $0 == $1 }.count }
            let best = parameterNames.indices.max { (shared(parameterNames[$0].name), $0) < (shared(parameterNames[$1].name), $1) }
            parameterNames.insert(c, at: best.map { $0 + 1 } ?? parameterNames.count)
        }
        // torch.onnx.export folds batch norm into the convolution before it unless told not to: the graph then
        // trains other tensors (named onnx::Conv_...) than the site's model, and its update is not the one the
        // site sends. Auditing it would audit another model.
        let renamed = parameterNames.map(\.name).filter { $0.hasPrefix("onnx::") }
        if !renamed.isEmpty {
            throw fail("its weights \(renamed.prefix(2).joined(separator: ", "))\(renamed.count > 2 ? " and \(renamed.count - 2) more" : "") are not the model's "
                       + "state_dict names: the exporter folded batch norm into the convolutions (torch.onnx.export's default do_constant_folding=True), "
                       + "so the graph's update is not the one the site sends; export with do_constant_folding=False")
        }
        var parameters: [TensorSpec] = []
        for p in parameterNames {
            let t = initializers[p.of]!
            parameters.append(TensorSpec(name: p.name, shape: t.shape, isParameter: true, initializer: .values(t.floats!)))
            values[p.name] = .live(.parameter(parameters.count - 1), t.shape)
        }
        // PyTorch's state dict has a batch counter beside each batch norm's running mean: keep its place so
        // the site's checkpoint loads (and `update` writes what PyTorch would).
        var counters: [String: Int] = [:]
        for n in nodes where n.opType == "BatchNormalization" && n.input.count >= 5 && n.input[3].hasSuffix("running_mean") {
            let name = String(n.input[3].dropLast("running_mean".count)) + "num_batches_tracked"
            if counters[n.input[3]] == nil, initializers[name] == nil {
                buffers.append(TensorSpec(name: name, shape: [], isParameter: false, initializer: .constant(0)))
                counters[n.input[3]] = buffers.count - 1
            }
        }
        let program = OnnxProgram(source: source, nodes: nodes, initial: values, input: inputs[0].name, inputShape: chw,
                                  fixedBatch: fixedBatch, output: g.output[0].name, counters: counters)
        let classes: Int
        do { classes = try program.classes() } catch let e as ModelError { throw e }
        let name = g.name.isEmpty || g.name == "main_graph" || g.name == "torch_jit" ? URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent : g.name
        var model = try Model(name: name, inputShape: chw, classes: classes, parameters: parameters, buffers: buffers,
                              source: GraphSource(specializer: program))
        model.format = "ONNX opset \(opset)" + (fixedBatch.map { ", exported for a batch of \($0)" } ?? ", dynamic batch")
        return model
    }
}

/// An initializer or Constant tensor, decoded.
struct OnnxTensor {
    let shape: [Int]
    let isFloat: Bool
    /// Float values (float, double, float16 data), or nil for integer tensors.
    let floats: [Float]?
    /// Values as Double, for folding (integers exactly up to 2^53).
    let doubles: [Double]

    var folded: Folded { Folded(shape: shape, values: doubles, isInt: !isFloat) }

    init(_ t: Onnx_TensorProto, source: String) throws {
        func fail(_ m: String) -> ModelError { .badModelFile(source, "tensor '\(t.name)': \(m)") }
        guard t.dataLocation != .external, t.externalData.isEmpty else {
            throw fail("its values are in an external file; export with the weights inside the .onnx file (models under 2 GB)")
        }
        guard t.dims.allSatisfy({ $0 >= 0 && $0 < 1 << 32 }) else { throw fail("has a bad shape \(t.dims)") }
        let dims = t.dims.map(Int.init)
        var n = 1
        for d in dims {
            let (m, o) = n.multipliedReportingOverflow(by: d)
            guard !o, m < 1 << 34 else { throw fail("shape \(dims) is too large") }
            n = m
        }
        let raw = t.hasRawData ? t.rawData : nil
        func rawValues<T>(_ type: T.Type) throws -> [T] {
            guard let r = raw else { return [] }
            guard r.count == n * MemoryLayout<T>.size else { throw fail("holds \(r.count) bytes for \(n) values of \(MemoryLayout<T>.size) bytes") }
            return r.withUnsafeBytes { p in (0..<n).map { p.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        func check(_ count: Int) throws { guard count == n else { throw fail("holds \(count) values for shape \(dims)") } }
        var floats: [Float]? = nil, doubles: [Double] = [], isFloat = false
        switch t.dataType {
        case 1:   // FLOAT
            let v = raw != nil ? try rawValues(Float.self) : t.floatData
            try check(v.count)
            guard v.allSatisfy(\.isFinite) else { throw fail("holds NaN or infinite values") }
            floats = v; doubles = v.map(Double.init); isFloat = true
        case 11:  // DOUBLE
            let v = raw != nil ? try rawValues(Double.self) : t.doubleData
            try check(v.count)
            guard v.allSatisfy(\.isFinite) else { throw fail("holds NaN or infinite values") }
            floats = v.map(Float.init); doubles = v; isFloat = true
        case 10:  // FLOAT16
            let bits: [UInt16] = raw != nil ? try rawValues(UInt16.self) : t.int32Data.map { UInt16(truncatingIfNeeded: $0) }
            try check(bits.count)
            let v = bits.map { Float(Float16(bitPattern: $0)) }
            floats = v; doubles = v.map(Double.init); isFloat = true
        case 7:   // INT64
            let v = raw != nil ? try rawValues(Int64.self) : t.int64Data
            try check(v.count)
            floats = nil; doubles = v.map(Double.init); isFloat = false
        case 6, 9, 2, 3, 4, 5:  // INT32, BOOL, UINT8, INT8, UINT16, INT16
            let v: [Int64]
            if raw != nil {
                switch t.dataType {
                case 6: v = try rawValues(Int32.self).map(Int64.init)
                case 9, 2: v = try rawValues(UInt8.self).map(Int64.init)
                case 3: v = try rawValues(Int8.self).map(Int64.init)
                case 4: v = try rawValues(UInt16.self).map(Int64.init)
                default: v = try rawValues(Int16.self).map(Int64.init)
                }
            } else { v = t.int32Data.map(Int64.init) }
            try check(v.count)
            floats = nil; doubles = v.map(Double.init); isFloat = false
        default:
            throw fail("has ONNX data type \(t.dataType), which medpfl does not read (float, double, float16 and integers)")
        }
        self.shape = dims; self.floats = floats; self.doubles = doubles; self.isFloat = isFloat
    }
}
