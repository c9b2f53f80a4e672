import Foundation

// MARK: Index gather / scatter (an adjoint pair)

extension Tensor {
    /// out[i] = self.flat[index[i]], shaped `outShape`. Adjoint of `scatterAdd`.
    public func gather(flat index: [Int32], shape outShape: [Int]) -> Tensor {
        precondition(index.count == outShape.reduce(1, *))
        let out = Tensor(uninitializedShape: outShape)
        let px = storage, po = out.storage
        index.withUnsafeBufferPointer { ix in OpThreads.forRanges(ix.count) { r in for i in r { po[i] = px[Int(ix[i])] } } }
        let inShape = shape
        return out.recording("gather", [self]) { g, _, _ in [g.scatterAdd(flat: index, shape: inShape)] }
    }

    /// out = zeros(shape); out.flat[index[i]] += self.flat[i]. Adjoint of `gather`.
    public func scatterAdd(flat index: [Int32], shape outShape: [Int]) -> Tensor {
        precondition(index.count == count)
        let out = Tensor(shape: outShape, repeating: 0)
        let px = storage, po = out.storage
        index.withUnsafeBufferPointer { ix in for i in 0..<ix.count { po[Int(ix[i])] += px[i] } }
        let myShape = shape
        return out.recording("scatterAdd", [self]) { g, _, _ in [g.gather(flat: index, shape: myShape)] }
    }
}

// MARK: Max pooling

extension Tensor {
    /// Max pooling over NCHW with -inf padding (PyTorch's MaxPool2d, floor mode).
    /// The gradient flows to the arg-max of each window; the second derivative is zero.
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        precondition(rank == 4)
        let g = Conv2dGeometry(kernel: kernel, stride: stride ?? kernel, padding: padding)
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (ho, wo) = g.outputSize(h, w)
        var index = [Int32](repeating: 0, count: n * c * ho * wo)
        let px = storage
        index.withUnsafeMutableBufferPointer { ix in
            // Planes in shape-fixed groups on the op threads (each writes its own planes' indices).
            OpThreads.forPieces(size: n * c, work: n * c * h * w, minWork: OpThreads.minElementwiseWork) { planes in
                for plane in planes {
                    let base = plane * h * w
                    for oh in 0..<ho {
                        let h0 = max(oh * g.stride - padding, 0), h1 = min(oh * g.stride - padding + kernel, h)
                        for ow in 0..<wo {
                            let w0 = max(ow * g.stride - padding, 0), w1 = min(ow * g.stride - padding + kernel, w)
                            var best = -Float.infinity, arg = base + h0 * w + w0
                            for ih in h0..<h1 {
                                for iw in w0..<w1 {
                                    let v = px[base + ih * w + iw]
                                    if v > best || v.isNaN { best = v; arg = base + ih * w + iw }
                                }
                            }
                            ix[(plane * ho + oh) * wo + ow] = Int32(arg)
                        }
                    }
                }
            }
        }
        return gather(flat: index, shape: [n, c, ho, wo])
    }
}

// MARK: Average pooling (fixed and adaptive windows; the pair avgPool / its adjoint)

/// The windows of an average pooling: per output row and column, the input range and the divisor.
public struct PoolWindows: Sendable {
    let hIn: Int, wIn: Int
    let rows: [(Int, Int)], cols: [(Int, Int)]
    let rowDiv: [Int], colDiv: [Int]

    /// PyTorch AvgPool2d (floor mode, count_include_pad = true).
    public static func fixed(h: Int, w: Int, kernel: Int, stride: Int, padding: Int) -> PoolWindows {
        func axis(_ size: Int) -> ([(Int, Int)], [Int]) {
            let out = (size + 2 * padding - kernel) / stride + 1
            var r: [(Int, Int)] = [], d: [Int] = []
            for o in 0..<out {
                let s = o * stride - padding
                let e = min(s + kernel, size + padding)
                d.append(e - s)
                r.append((max(s, 0), min(e, size)))
            }
            return (r, d)
        }
        let (r, rd) = axis(h), (c, cd) = axis(w)
        return PoolWindows(hIn: h, wIn: w, rows: r, cols: c, rowDiv: rd, colDiv: cd)
    }

    /// PyTorch AdaptiveAvgPool2d: start = floor(o*I/O), end = ceil((o+1)*I/O).
    public static func adaptive(h: Int, w: Int, outH: Int, outW: Int) -> PoolWindows {
        func axis(_ size: Int, _ out: Int) -> ([(Int, Int)], [Int]) {
            var r: [(Int, Int)] = [], d: [Int] = []
            for o in 0..<out {
                let s = (o * size) / out, e = ((o + 1) * size + out - 1) / out
                r.append((s, e)); d.append(e - s)
            }
            return (r, d)
        }
        let (r, rd) = axis(h, outH), (c, cd) = axis(w, outW)
        return PoolWindows(hIn: h, wIn: w, rows: r, cols: c, rowDiv: rd, colDiv: cd)
    }
}

extension Tensor {
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        precondition(rank == 4)
        return avgPool(.fixed(h: shape[2], w: shape[3], kernel: kernel, stride: stride ?? kernel, padding: padding))
    }

    public func adaptiveAvgPool2d(_ outH: Int, _ outW: Int) -> Tensor {
        precondition(rank == 4)
        if outH == 1 && outW == 1 { return mean(axes: [2, 3], keepDims: true) }
        return avgPool(.adaptive(h: shape[2], w: shape[3], outH: outH, outW: outW))
    }

    public func avgPool(_ win: PoolWindows) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        precondition(h == win.hIn && w == win.wIn)
        let ho = win.rows.count, wo = win.cols.count
        let out = Tensor(uninitializedShape: [n, c, ho, wo])
        let px = storage, po = out.storage
        for plane in 0..<(n * c) {
            let src = px + plane * h * w, dst = po + plane * ho * wo
            for oh in 0..<ho {
                let (h0, h1) = win.rows[oh]
                for ow in 0..<wo {
                    let (w0, w1) = win.cols[ow]
                    var s: Float = 0
                    for ih in h0..<h1 { for iw in w0..<w1 { s += src[ih * w + iw] } }
                    dst[oh * wo + ow] = s / Float(win.rowDiv[oh] * win.colDiv[ow])
                }
            }
        }
        return out.recording("avgPool", [self]) { g, _, _ in [g.avgPoolAdjoint(win, channels: c)] }
    }

    func avgPoolAdjoint(_ win: PoolWindows, channels c: Int) -> Tensor {
        let n = shape[0], ho = shape[2], wo = shape[3], h = win.hIn, w = win.wIn
        let out = Tensor(shape: [n, c, h, w], repeating: 0)
        let pg = storage, po = out.storage
        for plane in 0..<(n * c) {
            let src = pg + plane * ho * wo, dst = po + plane * h * w
            for oh in 0..<ho {
                let (h0, h1) = win.rows[oh]
                for ow in 0..<wo {
                    let (w0, w1) = win.cols[ow]
                    let v = src[oh * wo + ow] / Float(win.rowDiv[oh] * win.colDiv[ow])
                    for ih in h0..<h1 { for iw in w0..<w1 { dst[ih * w + iw] += v } }
                }
            }
        }
        return out.recording("avgPoolAdjoint", [self]) { gg, _, _ in [gg.avgPool(win)] }
    }
}
