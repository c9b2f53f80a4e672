import Foundation
import Tensor

// Evaluation of ONNX ops on values known when the file is loaded: the shape arithmetic an exporter emits
// (Shape, Gather, Slice, Cast, Mod, Equal, Where, ConstantOfShape, Concat, Unsqueeze, Reshape, +-*/, Sqrt).

extension Folded {
    /// The most values a folded (load-time) op makes: shape arithmetic is small.
    static let limit = 1 << 24

    init(ints: [Int], shape: [Int]? = nil, derived: Bool = false) {
        self.init(shape: shape ?? [ints.count], values: ints.map(Double.init), isInt: true, derived: derived)
    }

    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] }
        return s
    }

    /// Index of each element of `shape` in a tensor of shape `from` broadcast to it.
    static func broadcastIndex(_ from: [Int], to shape: [Int]) -> [Int] {
        let n = shape.reduce(1, *), r = shape.count
        let padded = [Int](repeating: 1, count: r - from.count) + from
        let fs = strides(padded), os = strides(shape)
        return (0..<n).map { flat in
            var rest = flat, idx = 0
            for d in 0..<r {
                let i = rest / os[d]; rest %= os[d]
                if padded[d] != 1 { idx += i * fs[d] }
            }
            return idx
        }
    }

    /// Elementwise `f` with NumPy broadcasting; integer when both sides are.
    static func combine(_ a: Folded, _ b: Folded, _ f: (Double, Double) -> Double) throws(GraphShapeError) -> Folded {
        guard let shape = broadcastShape(a.shape, b.shape), let n = checkedCount(shape), n <= Folded.limit else {
            throw GraphShapeError("shapes \(a.shape) and \(b.shape) do not broadcast (or make more than \(Folded.limit) constants)")
        }
        let ia = broadcastIndex(a.shape, to: shape), ib = broadcastIndex(b.shape, to: shape)
        let isInt = a.isInt && b.isInt
        let v = zip(ia, ib).map { (i, j) -> Double in
            let r = f(a.values[i], b.values[j])
            return isInt ? r.rounded(.towardZero) : r
        }
        return Folded(shape: shape, values: v, isInt: isInt, derived: a.derived || b.derived)
    }

    func reshaped(_ s: [Int]) -> Folded { var f = self; f.shape = s; return f }

    /// ONNX Reshape's target: 0 copies the input dim (allowzero = 0), one -1 is inferred.
    static func reshapeTarget(_ target: [Int], input: [Int]) throws(GraphShapeError) -> [Int] {
        var out = target
        for (i, d) in target.enumerated() where d == 0 {
            guard i < input.count else { throw GraphShapeError("target \(target) copies dim \(i) of a rank-\(input.count) input") }
            out[i] = input[i]
        }
        guard let n = checkedCount(input) else { throw GraphShapeError("input \(input) is too large") }
        let unknown = out.indices.filter { out[$0] == -1 }
        guard unknown.count <= 1, out.allSatisfy({ $0 >= -1 }) else { throw GraphShapeError("bad target shape \(target)") }
        if let k = unknown.first {
            guard let rest = checkedCount(out.enumerated().filter { $0.offset != k }.map(\.element)) else { throw GraphShapeError("bad target shape \(target)") }
            guard rest > 0, n % rest == 0 else { throw GraphShapeError("cannot reshape \(input) to \(target)") }
            out[k] = n / rest
        }
        guard checkedCount(out) == n else { throw GraphShapeError("cannot reshape \(input) to \(target)") }
        return out
    }

    /// Ranges of ONNX Slice (positive steps only) over `shape`.
    static func sliceRanges(shape: [Int], starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws(GraphShapeError) -> (ranges: [Range<Int>], steps: [Int]) {
        var ranges = shape.map { 0..<$0 }, st = [Int](repeating: 1, count: shape.count)
        let ax = axes ?? Array(0..<starts.count)
        guard starts.count == ends.count, ax.count == starts.count else { throw GraphShapeError("starts, ends and axes differ in length") }
        for (k, a0) in ax.enumerated() {
            let a = a0 < 0 ? a0 + shape.count : a0
            guard a >= 0 && a < shape.count else { throw GraphShapeError("axis \(a0) outside a rank-\(shape.count) input") }
            let step = steps?[k] ?? 1
            guard step > 0 else { throw GraphShapeError("step \(step): medpfl slices forward only") }
            let n = shape[a]
            func clampIndex(_ v: Int) -> Int { let w = v < 0 ? (v <= Int.min / 2 ? 0 : v + n) : v; return min(max(w, 0), n) }
            let lo = clampIndex(starts[k]), hi = max(clampIndex(ends[k]), lo)
            ranges[a] = lo..<hi; st[a] = step
        }
        return (ranges, st)
    }

    func slice(_ ranges: [Range<Int>], steps: [Int]) -> Folded {
        let outShape = zip(ranges, steps).map { ($0.count + $1 - 1) / $1 }
        let st = Folded.strides(shape), os = Folded.strides(outShape)
        let n = outShape.reduce(1, *)
        let v = (0..<n).map { flat -> Double in
            var rest = flat, idx = 0
            for d in 0..<outShape.count { let i = rest / os[d]; rest %= os[d]; idx += (ranges[d].lowerBound + i * steps[d]) * st[d] }
            return values[idx]
        }
        return Folded(shape: outShape, values: v, isInt: isInt, derived: derived)
    }

    func gather(_ indices: Folded, axis a0: Int) throws(GraphShapeError) -> Folded {
        let a = a0 < 0 ? a0 + shape.count : a0
        guard a >= 0 && a < shape.count else { throw GraphShapeError("axis \(a0) outside a rank-\(shape.count) input") }
        let idx = try indices.ints.map { (i: Int) throws(GraphShapeError) -> Int in
            let j = i < 0 ? i + shape[a] : i
            guard j >= 0 && j < shape[a] else { throw GraphShapeError("index \(i) outside 0..<\(shape[a])") }
            return j
        }
        let outer = shape.prefix(a).reduce(1, *), inner = shape.dropFirst(a + 1).reduce(1, *)
        var v: [Double] = []
        for o in 0..<outer { for j in idx { for k in 0..<inner { v.append(values[(o * shape[a] + j) * inner + k]) } } }
        return Folded(shape: Array(shape.prefix(a)) + indices.shape + Array(shape.dropFirst(a + 1)), values: v, isInt: isInt,
                      derived: derived || indices.derived)
    }

    static func concat(_ parts: [Folded], axis a0: Int) throws(GraphShapeError) -> Folded {
        let r = parts[0].shape.count, a = a0 < 0 ? a0 + r : a0
        guard a >= 0 && a < r else { throw GraphShapeError("axis \(a0) outside a rank-\(r) input") }
        let outer = parts[0].shape.prefix(a).reduce(1, *)
        var v: [Double] = [], total = 0
        for p in parts {
            guard p.shape.count == r, (0..<r).allSatisfy({ $0 == a || p.shape[$0] == parts[0].shape[$0] }) else { throw GraphShapeError("shapes differ off the axis") }
            total += p.shape[a]
        }
        for o in 0..<outer {
            for p in parts { let inner = p.shape.dropFirst(a).reduce(1, *); v += p.values[(o * inner)..<((o + 1) * inner)] }
        }
        var shape = parts[0].shape; shape[a] = total
        return Folded(shape: shape, values: v, isInt: parts.allSatisfy(\.isInt), derived: parts.contains { $0.derived })
    }

    func transposed(_ perm: [Int]) -> Folded {
        let outShape = perm.map { shape[$0] }, st = Folded.strides(shape), os = Folded.strides(outShape)
        let v = (0..<values.count).map { flat -> Double in
            var rest = flat, idx = 0
            for d in 0..<outShape.count { let i = rest / os[d]; rest %= os[d]; idx += i * st[perm[d]] }
            return values[idx]
        }
        return Folded(shape: outShape, values: v, isInt: isInt, derived: derived)
    }
}

/// Axes of Squeeze/Unsqueeze/ReduceMean: from the input (opset 13+) or the attribute.
func onnxAxes(_ n: OnnxNode, input: Int) throws(GraphShapeError) -> [Int]? {
    if let f = try n.optionalKnown(input, "axes") { return f.ints }
    return n.ints("axes")
}

func squeezeShape(_ shape: [Int], axes: [Int]?) throws(GraphShapeError) -> [Int] {
    let r = shape.count
    let ax = Set((axes ?? shape.indices.filter { shape[$0] == 1 }).map { $0 < 0 ? $0 + r : $0 })
    for a in ax { guard a >= 0 && a < r && shape[a] == 1 else { throw GraphShapeError("cannot squeeze axis \(a) of \(shape)") } }
    return shape.indices.filter { !ax.contains($0) }.map { shape[$0] }
}

func unsqueezeShape(_ shape: [Int], axes: [Int]) throws(GraphShapeError) -> [Int] {
    let r = shape.count + axes.count
    let ax = Set(axes.map { $0 < 0 ? $0 + r : $0 })
    guard ax.count == axes.count, ax.allSatisfy({ $0 >= 0 && $0 < r }) else { throw GraphShapeError("bad axes \(axes) for \(shape)") }
    var out: [Int] = [], it = shape.makeIterator()
    for d in 0..<r { out.append(ax.contains(d) ? 1 : it.next()!) }
    return out
}
