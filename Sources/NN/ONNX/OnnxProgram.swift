import Foundation
import Tensor

/// A compile-time value of an ONNX graph: shape arithmetic, Constant nodes, integer initializers.
struct Folded {
    var shape: [Int]
    var values: [Double]
    var isInt: Bool
    /// Computed from a Shape node (so it follows the batch size), not written into the file as a literal.
    var derived = false

    var count: Int { values.count }
    var ints: [Int] { values.map { $0 >= 9.2e18 ? Int.max : ($0 <= -9.2e18 ? Int.min : Int($0)) } }
    var scalar: Double? { values.count == 1 ? values[0] : nil }
    var tensor: Tensor { Tensor(shape: shape, data: values.map(Float.init)) }
}

/// A value while a graph is made: known when loaded, or computed when the model runs (with its shape).
enum OnnxValue {
    case known(Folded)
    case live(GraphValue, [Int])
    var shape: [Int] {
        switch self {
        case .known(let f): return f.shape
        case .live(_, let s): return s
        }
    }
}

/// An ONNX graph, made into a `Graph` per batch size: the input's batch dimension is set, every Shape node
/// then answers with a constant, and all shape arithmetic folds away, so the graph that runs has only
/// differentiable ops on live values with fixed shapes.
///
/// A graph exported with a fixed batch (`[1, C, H, W]`) may have the batch written into its Reshape targets
/// as a literal. At another batch such a graph runs image by image when nothing in it mixes images (no
/// batch norm in train mode), which is exact; otherwise it is refused with the export that fixes it.
struct OnnxProgram: GraphSpecializer, @unchecked Sendable {
    // @unchecked: the generated message structs are Sendable values; `initial` holds Sendable enums of values.
    let source: String
    let nodes: [Onnx_NodeProto]
    let initial: [String: OnnxValue]
    let input: String
    let inputShape: [Int]
    let fixedBatch: Int?
    let output: String
    /// Running-mean initializer name -> the buffer index of its synthesized num_batches_tracked.
    let counters: [String: Int]

    func classes() throws -> Int {
        let shape = try lower(batch: fixedBatch ?? 1).outputShape
        guard shape.count == 2, shape[0] == (fixedBatch ?? 1), shape[1] >= 2 else {
            throw ModelError.badModelFile(source, "the output '\(output)' has shape \(shape); medpfl audits classifiers whose output is N x classes logits")
        }
        return shape[1]
    }

    func plan(batch: Int, bn: BNMode) throws -> GraphPlan {
        guard let fixed = fixedBatch, batch != fixed else { return .whole(try lower(batch: batch).graph) }
        let hasBatchNorm = nodes.contains { $0.opType == "BatchNormalization" }
        var why: String
        do {
            let made = try lower(batch: batch)
            guard let literal = made.batchLiteral else { return .whole(made.graph) }
            why = "its node \(literal) has the batch of \(fixed) written into its target shape"
        } catch {
            why = "its shapes do not follow the batch (\(error))"
        }
        if fixed == 1 && (bn == .eval || !hasBatchNorm) { return .perImage(try lower(batch: 1).graph) }
        throw ModelError.badModelFile(source, "was exported for a batch of \(fixed) and \(why); batch norm in train mode needs the "
                                      + "\(batch) images together. Export with a dynamic batch: torch.onnx.export(..., "
                                      + "dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})")
    }

    struct Lowered { let graph: Graph; let outputShape: [Int]; let batchLiteral: String? }

    func lower(batch: Int) throws -> Lowered {
        var l = OnnxLowering(source: source, values: initial, counters: counters, checkLiterals: fixedBatch != nil && batch != fixedBatch)
        l.values[input] = .live(.input, [batch] + inputShape)
        for node in nodes {
            let label = node.name.isEmpty ? (node.output.first ?? node.opType) : node.name
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw ModelError.badModelFile(source, "node \(label) is op \(node.opType) of domain '\(node.domain)'; medpfl reads the standard ONNX domain only")
            }
            guard let translate = OnnxOps.registry[node.opType] else {
                throw ModelError.badModelFile(source, "node \(label) has op type \(node.opType), which medpfl does not support (supported: "
                                              + OnnxOps.registry.keys.sorted().joined(separator: ", ") + ")")
            }
            var ins: [OnnxValue?] = []
            for name in node.input {
                if name.isEmpty { ins.append(nil); continue }
                guard let v = l.values[name] else { throw ModelError.badModelFile(source, "node \(label) reads '\(name)', which no earlier node or initializer makes (is the file truncated?)") }
                ins.append(v)
            }
            let ctx = OnnxNode(proto: node, label: label, inputs: ins, source: source)
            let outs: [OnnxValue]
            do { outs = try translate(ctx, &l) } catch let e as GraphShapeError {
                throw ModelError.badModelFile(source, "node \(label) (\(node.opType)): \(e.message)")
            }
            for (name, v) in zip(node.output, outs) where !name.isEmpty { l.values[name] = v }
            if node.output.count > outs.count, node.output.dropFirst(outs.count).contains(where: { n in !n.isEmpty && nodes.contains { $0.input.contains(n) } }) {
                throw ModelError.badModelFile(source, "node \(label) (\(node.opType)): medpfl computes only its first output, and a later node reads another")
            }
        }
        guard let out = l.values[output] else { throw ModelError.badModelFile(source, "no node makes the output '\(output)' (is the file truncated?)") }
        guard case let .live(v, shape) = out else { throw ModelError.badModelFile(source, "the output '\(output)' does not depend on the input") }
        return Lowered(graph: Graph(nodes: l.nodes, constants: l.constants, output: v), outputShape: shape, batchLiteral: l.batchLiteral)
    }
}

/// One node while it is translated: its attributes and inputs.
struct OnnxNode {
    let proto: Onnx_NodeProto
    let label: String
    let inputs: [OnnxValue?]
    let source: String

    func attribute(_ name: String) -> Onnx_AttributeProto? { proto.attribute.first { $0.name == name } }
    func int(_ name: String, _ def: Int) -> Int { attribute(name).map { Int(clamping: $0.i) } ?? def }
    func float(_ name: String, _ def: Float) -> Float { attribute(name)?.f ?? def }
    func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map { Int(clamping: $0) } } }
    func string(_ name: String) -> String? { attribute(name).map { String(decoding: $0.s, as: UTF8.self) } }

    var allKnown: Bool { inputs.allSatisfy { v in if case .known? = v { return true }; return v == nil } }

    /// Input `i`, which must be known when the file is loaded (a shape, an axis list, a clip bound).
    func known(_ i: Int, _ what: String) throws(GraphShapeError) -> Folded {
        guard i < inputs.count, let v = inputs[i] else { throw GraphShapeError("has no \(what) input") }
        guard case .known(let f) = v else { throw GraphShapeError("its \(what) is computed from the image at run time; medpfl needs it fixed when the file is loaded") }
        return f
    }
    func optionalKnown(_ i: Int, _ what: String) throws(GraphShapeError) -> Folded? {
        guard i < inputs.count, inputs[i] != nil else { return nil }
        return try known(i, what)
    }
    func value(_ i: Int) throws(GraphShapeError) -> OnnxValue {
        guard i < inputs.count, let v = inputs[i] else { throw GraphShapeError("needs input \(i)") }
        return v
    }
}

/// The graph being made: nodes, constants and the values of every ONNX name so far.
struct OnnxLowering {
    let source: String
    var values: [String: OnnxValue]
    let counters: [String: Int]
    /// Whether to note a Reshape or Expand whose target has the export's batch as a literal.
    let checkLiterals: Bool
    var nodes: [GraphNode] = []
    var constants: [Tensor] = []
    var batchLiteral: String? = nil

    /// A live graph value for `v` (a known value becomes a graph constant).
    mutating func graphValue(_ v: OnnxValue) -> GraphValue {
        switch v {
        case .live(let g, _): return g
        case .known(let f):
            constants.append(f.tensor)
            return .constant(constants.count - 1)
        }
    }

    /// Appends `op` on `inputs` and returns its live output, its shape checked.
    mutating func emit(_ op: any GraphOp, _ inputs: [OnnxValue], name: String) throws(GraphShapeError) -> OnnxValue {
        let shape = try op.outputShape(inputs.map(\.shape))
        let gv = inputs.map { graphValue($0) }
        nodes.append(GraphNode(name: name, op: op, inputs: gv))
        return .live(.node(nodes.count - 1), shape)
    }

    /// Notes a literal batch in a target shape (a Reshape of [1, 32, 16] in a batch-1 export).
    mutating func noteTarget(_ f: Folded, node: String) {
        guard checkLiterals, !f.derived, let first = f.ints.first, first != -1, first != 0 else { return }
        if batchLiteral == nil { batchLiteral = node }
    }
}
