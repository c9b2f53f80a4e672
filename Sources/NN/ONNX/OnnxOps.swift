import Foundation
import Tensor

/// The ONNX ops medpfl imports: op type -> translator. Adding an op is one translator here (and a `GraphOp`
/// when no existing one computes it). A translator folds the node when its inputs are known at load time,
/// or appends graph ops on its live inputs; attributes outside what the op supports are errors, never ignored.
enum OnnxOps {
    typealias Translate = @Sendable (OnnxNode, inout OnnxLowering) throws -> [OnnxValue]

    static let registry: [String: Translate] = [
        "Conv": conv, "BatchNormalization": batchNorm, "Gemm": gemm, "MatMul": matmul, "LayerNormalization": layerNorm,
        "Relu": unary(.relu), "Sigmoid": unary(.sigmoid), "Tanh": unary(.tanh), "Erf": unary(.erf, fold: { Double(Foundation.erf(Float($0))) }),
        "Sqrt": unary(.sqrt, fold: { $0.squareRoot() }), "Exp": unary(.exp, fold: { Foundation.exp($0) }), "Neg": unary(.neg, fold: { -$0 }),
        "Softplus": unary(.softplus), "LeakyRelu": leakyRelu, "Clip": clip, "HardSigmoid": hardSigmoid, "HardSwish": unary(.hardSwish),
        "Gelu": gelu, "Pow": pow, "Softmax": softmax, "ReduceMean": reduceMean,
        "Add": binary(.add, +), "Sub": binary(.sub, -), "Mul": binary(.mul, *), "Div": binary(.div, /),
        "MaxPool": pool(.max), "AveragePool": pool(.average), "GlobalAveragePool": globalAveragePool,
        "Identity": passThrough, "Dropout": passThrough,
        "Flatten": flatten, "Reshape": reshape, "Transpose": transpose, "Squeeze": squeeze, "Unsqueeze": unsqueeze,
        "Concat": concat, "Gather": gather, "Slice": slice, "Expand": expand,
        "Constant": constant, "Shape": shape, "Cast": cast, "Mod": mod, "Equal": equal, "Where": whereOp, "ConstantOfShape": constantOfShape,
    ]

    // MARK: Layers

    static func conv(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        var x = try n.value(0)
        let w = try n.value(1)
        guard x.shape.count == 4, w.shape.count == 4 else { throw GraphShapeError("medpfl imports 2-D convolutions (N x C x H x W), got input \(x.shape)") }
        guard (n.string("auto_pad") ?? "NOTSET") == "NOTSET" else { throw GraphShapeError("auto_pad \(n.string("auto_pad")!) is not supported (export with explicit pads)") }
        let strides = n.ints("strides") ?? [1, 1], dil = n.ints("dilations") ?? [1, 1], pads = n.ints("pads") ?? [0, 0, 0, 0]
        guard strides.count == 2, strides[0] == strides[1], dil.count == 2, dil[0] == dil[1], pads.count == 4 else {
            throw GraphShapeError("strides \(strides) and dilations \(dil) must be equal in height and width")
        }
        if let k = n.ints("kernel_shape"), k != Array(w.shape.suffix(2)) { throw GraphShapeError("kernel_shape \(k) differs from the weight \(w.shape)") }
        var padding = pads[0]
        if !(pads[0] == pads[1] && pads[1] == pads[2] && pads[2] == pads[3]) {
            x = try l.emit(PadOp([(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])]), [x], name: n.label + ".pad")
            padding = 0
        }
        var ins = [x, w]
        if n.inputs.count > 2, let b = n.inputs[2] { ins.append(b) }
        return [try l.emit(Conv2dOp(stride: strides[0], padding: padding, dilation: dil[0], groups: n.int("group", 1)), ins, name: n.label)]
    }

    static func batchNorm(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        guard n.int("training_mode", 0) == 0 else { throw GraphShapeError("training_mode 1 graphs are not supported: export in eval mode (medpfl's --bn train switches to batch statistics)") }
        guard n.inputs.count == 5, let mean = n.inputs[3], let variance = n.inputs[4],
              case .live(.buffer(let m), _) = mean, case .live(.buffer(let v), _) = variance else {
            throw GraphShapeError("needs its running mean and variance as initializers")
        }
        let counter = n.proto.input[3].isEmpty ? nil : l.counters[n.proto.input[3]]
        let op = BatchNormOp(affine: true, eps: n.float("epsilon", 1e-5), momentum: 1 - n.float("momentum", 0.9), mean: m, variance: v, batches: counter)
        return [try l.emit(op, [try n.value(0), try n.value(1), try n.value(2), mean, variance], name: n.label)]
    }

    static func gemm(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        guard n.float("alpha", 1) == 1, n.float("beta", 1) == 1, n.int("transA", 0) == 0 else {
            throw GraphShapeError("alpha, beta must be 1 and transA 0 (PyTorch's Linear)")
        }
        let a = try n.value(0), b = try n.value(1)
        let c = n.inputs.count > 2 ? n.inputs[2] : nil
        if n.int("transB", 0) == 1, c == nil || c!.shape.count == 1 {
            return [try l.emit(LinearOp(), [a, b] + (c.map { [$0] } ?? []), name: n.label)]
        }
        let bt = n.int("transB", 0) == 1 ? try l.emit(TransposeOp([1, 0]), [b], name: n.label + ".transB") : b
        let y = try l.emit(MatMulOp(), [a, bt], name: n.label)
        guard let bias = c else { return [y] }
        return [try l.emit(BinaryOp(.add), [y, bias], name: n.label + ".bias")]
    }

    static func matmul(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        [try l.emit(MatMulOp(), [try n.value(0), try n.value(1)], name: n.label)]
    }

    static func layerNorm(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        var ins = [try n.value(0)]
        for i in 1..<min(n.inputs.count, 3) { if let v = n.inputs[i] { ins.append(v) } }
        guard ins.count != 2 || n.inputs.count <= 2 else { throw GraphShapeError("a bias without a scale is not supported") }
        return [try l.emit(LayerNormOp(axis: n.int("axis", -1), eps: n.float("epsilon", 1e-5)), ins, name: n.label)]
    }

    // MARK: Elementwise

    static func unary(_ f: UnaryFunction, fold: (@Sendable (Double) -> Double)? = nil) -> Translate {
        { n, l in
            let x = try n.value(0)
            if case .known(var k) = x, let fold = fold {
                k.values = k.values.map(fold)
                if k.isInt { k.values = k.values.map { $0.rounded(.towardZero) } }
                return [.known(k)]
            }
            return [try l.emit(UnaryOp(f), [x], name: n.label)]
        }
    }

    static func leakyRelu(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        [try l.emit(UnaryOp(.leakyRelu(n.float("alpha", 0.01))), [try n.value(0)], name: n.label)]
    }

    static func clip(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let lo = try n.optionalKnown(1, "min")?.scalar ?? -.infinity, hi = try n.optionalKnown(2, "max")?.scalar ?? .infinity
        return [try l.emit(UnaryOp(.clip(Float(lo), Float(hi))), [try n.value(0)], name: n.label)]
    }

    static func hardSigmoid(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        [try l.emit(UnaryOp(.hardSigmoid(alpha: n.float("alpha", 0.2), beta: n.float("beta", 0.5))), [try n.value(0)], name: n.label)]
    }

    static func gelu(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        guard (n.string("approximate") ?? "none") == "none" else { throw GraphShapeError("the tanh approximation of GELU is not supported") }
        return [try l.emit(UnaryOp(.gelu), [try n.value(0)], name: n.label)]
    }

    static func pow(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let e = try n.known(1, "exponent")
        guard let p = e.scalar else { throw GraphShapeError("the exponent must be one number") }
        if case .known(var k) = try n.value(0) { k.values = k.values.map { Foundation.pow($0, p) }; return [.known(k)] }
        return [try l.emit(UnaryOp(.pow(Float(p))), [try n.value(0)], name: n.label)]
    }

    static func binary(_ f: BinaryFunction, _ fold: @escaping @Sendable (Double, Double) -> Double) -> Translate {
        { n, l in
            let a = try n.value(0), b = try n.value(1)
            if case .known(let x) = a, case .known(let y) = b {
                if f == .div, y.isInt, y.values.contains(0) { throw GraphShapeError("divides by zero") }
                return [.known(try Folded.combine(x, y, fold))]
            }
            return [try l.emit(BinaryOp(f), [a, b], name: n.label)]
        }
    }

    static func softmax(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        [try l.emit(SoftmaxOp(axis: n.int("axis", -1)), [try n.value(0)], name: n.label)]
    }

    static func reduceMean(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0)
        var axes = try onnxAxes(n, input: 1)
        if axes == nil || axes!.isEmpty {
            guard n.int("noop_with_empty_axes", 0) == 0 else { return [x] }
            axes = Array(0..<x.shape.count)
        }
        return [try l.emit(ReduceMeanOp(axes: axes!, keepDims: n.int("keepdims", 1) == 1), [x], name: n.label)]
    }

    // MARK: Pooling

    static func pool(_ kind: PoolKind) -> Translate {
        { n, l in
            var x = try n.value(0)
            guard let k = n.ints("kernel_shape"), k.count == 2, k[0] == k[1] else { throw GraphShapeError("medpfl pools with square 2-D windows") }
            let s = n.ints("strides") ?? [1, 1], pads = n.ints("pads") ?? [0, 0, 0, 0]
            guard s.count == 2, s[0] == s[1], pads.count == 4 else { throw GraphShapeError("strides \(s) must be equal in height and width") }
            guard (n.ints("dilations") ?? [1, 1]) == [1, 1], (n.string("auto_pad") ?? "NOTSET") == "NOTSET" else {
                throw GraphShapeError("dilated or auto-padded pooling is not supported")
            }
            guard n.int("ceil_mode", 0) == 0 else { throw GraphShapeError("ceil_mode 1 is not supported (PyTorch's default is floor)") }
            var padding = pads[0]
            let symmetric = pads.allSatisfy { $0 == pads[0] }
            if kind == .average, pads.contains(where: { $0 != 0 }), n.int("count_include_pad", 0) == 0 {
                throw GraphShapeError("average pooling that excludes the padding is not supported (PyTorch's AvgPool2d counts it)")
            }
            if !symmetric || padding * 2 > k[0] {
                x = try l.emit(PadOp([(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])], value: kind == .max ? -.infinity : 0), [x], name: n.label + ".pad")
                padding = 0
            }
            return [try l.emit(Pool2dOp(kind, kernel: k[0], stride: s[0], padding: padding), [x], name: n.label)]
        }
    }

    static func globalAveragePool(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        [try l.emit(AdaptiveAvgPoolOp(1, 1), [try n.value(0)], name: n.label)]
    }

    // MARK: Shapes and data movement

    static func passThrough(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] { [try n.value(0)] }

    static func flatten(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0)
        var axis = n.int("axis", 1)
        if axis < 0 { axis += x.shape.count }
        if case .known(let k) = x { return [.known(k.reshaped([x.shape.prefix(axis).reduce(1, *), x.shape.dropFirst(axis).reduce(1, *)]))] }
        return [try l.emit(FlattenOp(axis: axis), [x], name: n.label)]
    }

    static func reshape(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0), t = try n.known(1, "shape")
        guard n.int("allowzero", 0) == 0 else { throw GraphShapeError("allowzero 1 is not supported") }
        let target = try Folded.reshapeTarget(t.ints, input: x.shape)
        if case .known(let k) = x { return [.known(k.reshaped(target))] }
        l.noteTarget(t, node: n.label)
        return [try l.emit(ReshapeOp(target), [x], name: n.label)]
    }

    static func transpose(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0)
        let perm = n.ints("perm") ?? Array((0..<x.shape.count).reversed())
        guard perm.sorted() == Array(0..<x.shape.count) else { throw GraphShapeError("permutation \(perm) for a rank-\(x.shape.count) input") }
        if case .known(let k) = x { return [.known(k.transposed(perm))] }
        return [try l.emit(TransposeOp(perm), [x], name: n.label)]
    }

    static func squeeze(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0)
        let s = try squeezeShape(x.shape, axes: try onnxAxes(n, input: 1))
        if case .known(let k) = x { return [.known(k.reshaped(s))] }
        return [try l.emit(ReshapeOp(s, label: "squeeze"), [x], name: n.label)]
    }

    static func unsqueeze(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0)
        guard let axes = try onnxAxes(n, input: 1) else { throw GraphShapeError("has no axes") }
        let s = try unsqueezeShape(x.shape, axes: axes)
        if case .known(let k) = x { return [.known(k.reshaped(s))] }
        return [try l.emit(ReshapeOp(s, label: "unsqueeze"), [x], name: n.label)]
    }

    static func concat(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let parts = try n.inputs.indices.map { i throws -> OnnxValue in try n.value(i) }
        let axis = n.int("axis", 0)
        let known = parts.compactMap { v -> Folded? in if case .known(let f) = v { return f }; return nil }
        if known.count == parts.count { return [.known(try Folded.concat(known, axis: axis))] }
        return [try l.emit(ConcatOp(axis: axis), parts, name: n.label)]
    }

    static func gather(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0), idx = try n.known(1, "indices")
        let axis = n.int("axis", 0)
        if case .known(let k) = x { return [.known(try k.gather(idx, axis: axis))] }
        guard idx.shape.count <= 1 else { throw GraphShapeError("gathers with indices of rank \(idx.shape.count); medpfl takes a scalar or a list") }
        let a = axis < 0 ? axis + x.shape.count : axis
        guard a >= 0 && a < x.shape.count else { throw GraphShapeError("axis \(axis) outside a rank-\(x.shape.count) input") }
        let indices = idx.ints.map { $0 < 0 ? $0 + x.shape[a] : $0 }
        return [try l.emit(GatherOp(axis: a, indices: indices, scalar: idx.shape.isEmpty), [x], name: n.label)]
    }

    static func slice(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0)
        let starts = try n.known(1, "starts").ints, ends = try n.known(2, "ends").ints
        let axes = try n.optionalKnown(3, "axes")?.ints, steps = try n.optionalKnown(4, "steps")?.ints
        let (ranges, st) = try Folded.sliceRanges(shape: x.shape, starts: starts, ends: ends, axes: axes, steps: steps)
        if case .known(let k) = x { return [.known(k.slice(ranges, steps: st))] }
        guard st.allSatisfy({ $0 == 1 }) else { throw GraphShapeError("slices the data with steps \(st); medpfl slices data with step 1") }
        return [try l.emit(SliceOp(ranges), [x], name: n.label)]
    }

    static func expand(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let x = try n.value(0), t = try n.known(1, "shape")
        guard t.ints.allSatisfy({ $0 >= 0 }), let out = broadcastShape(x.shape, t.ints), let count = checkedCount(out) else { throw GraphShapeError("cannot expand \(x.shape) to \(t.ints)") }
        if case .known(let k) = x {
            guard count <= Folded.limit else { throw GraphShapeError("expands a constant to \(out), too large") }
            let idx = Folded.broadcastIndex(k.shape, to: out)
            return [.known(Folded(shape: out, values: idx.map { k.values[$0] }, isInt: k.isInt, derived: k.derived || t.derived))]
        }
        l.noteTarget(t, node: n.label)
        return [try l.emit(ExpandOp(t.ints), [x], name: n.label)]
    }

    // MARK: Shape arithmetic (folded when the file is loaded)

    static func constant(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        if let a = n.attribute("value") { return [.known(try OnnxTensor(a.t, source: n.source).folded)] }
        if let a = n.attribute("value_float") { return [.known(Folded(shape: [], values: [Double(a.f)], isInt: false))] }
        if let a = n.attribute("value_floats") { return [.known(Folded(shape: [a.floats.count], values: a.floats.map(Double.init), isInt: false))] }
        if let a = n.attribute("value_int") { return [.known(Folded(ints: [Int(clamping: a.i)], shape: []))] }
        if let a = n.attribute("value_ints") { return [.known(Folded(ints: a.ints.map { Int(clamping: $0) }))] }
        throw GraphShapeError("has no value medpfl reads (value, value_float(s), value_int(s))")
    }

    static func shape(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let s = try n.value(0).shape, r = s.count
        func clampIndex(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let lo = clampIndex(n.int("start", 0)), hi = max(lo, clampIndex(n.int("end", r)))
        return [.known(Folded(ints: Array(s[lo..<hi]), derived: true))]
    }

    static func cast(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let to = n.int("to", 1), x = try n.value(0)
        let toFloat = [1, 10, 11, 16].contains(to), toInt = [2, 3, 4, 5, 6, 7, 9, 12, 13].contains(to)
        guard toFloat || toInt else { throw GraphShapeError("casts to ONNX type \(to), which medpfl does not handle") }
        guard case .known(var k) = x else {
            guard toFloat else { throw GraphShapeError("casts data computed from the image to an integer type") }
            return [x]
        }
        if toInt { k.values = k.values.map { to == 9 ? ($0 != 0 ? 1 : 0) : $0.rounded(.towardZero) } }
        k.isInt = toInt
        return [.known(k)]
    }

    static func mod(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let a = try n.known(0, "dividend"), b = try n.known(1, "divisor")
        guard !b.values.contains(0) else { throw GraphShapeError("divides by zero") }
        let fmod = n.int("fmod", 0) == 1
        return [.known(try Folded.combine(a, b) { x, y in
            if fmod { return Foundation.fmod(x, y) }
            let r = x - (x / y).rounded(.down) * y      // Python's %: the sign of the divisor
            return r
        })]
    }

    static func equal(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        var f = try Folded.combine(try n.known(0, "left side"), try n.known(1, "right side")) { $0 == $1 ? 1 : 0 }
        f.isInt = true
        return [.known(f)]
    }

    static func whereOp(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let c = try n.known(0, "condition"), a = try n.known(1, "true branch"), b = try n.known(2, "false branch")
        guard let ab = broadcastShape(a.shape, b.shape), let shape = broadcastShape(c.shape, ab), let n = checkedCount(shape), n <= Folded.limit else {
            throw GraphShapeError("shapes \(c.shape), \(a.shape), \(b.shape) do not broadcast")
        }
        let ic = Folded.broadcastIndex(c.shape, to: shape), ia = Folded.broadcastIndex(a.shape, to: shape), ib = Folded.broadcastIndex(b.shape, to: shape)
        let v = (0..<ic.count).map { c.values[ic[$0]] != 0 ? a.values[ia[$0]] : b.values[ib[$0]] }
        return [.known(Folded(shape: shape, values: v, isInt: a.isInt && b.isInt, derived: c.derived || a.derived || b.derived))]
    }

    static func constantOfShape(_ n: OnnxNode, _ l: inout OnnxLowering) throws -> [OnnxValue] {
        let s = try n.known(0, "shape")
        let shape = s.ints
        guard let count = checkedCount(shape), count <= Folded.limit else { throw GraphShapeError("bad shape \(shape)") }
        var fill = Folded(shape: [], values: [0], isInt: false)
        if let a = n.attribute("value") { fill = try OnnxTensor(a.t, source: n.source).folded }
        return [.known(Folded(shape: shape, values: [Double](repeating: fill.values.first ?? 0, count: shape.reduce(1, *)), isInt: fill.isInt, derived: s.derived))]
    }
}
