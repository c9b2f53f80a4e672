import Foundation

/// Geometry of a 2-D convolution or pooling window over an NCHW input.
public struct Conv2dGeometry: Hashable, Sendable {
    public var kernel: (h: Int, w: Int) { (kh, kw) }
    public let kh: Int, kw: Int
    public let stride: Int, padding: Int, dilation: Int
    public init(kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        self.init(kh: kernel, kw: kernel, stride: stride, padding: padding, dilation: dilation)
    }
    public init(kh: Int, kw: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        precondition(kh > 0 && kw > 0 && stride > 0 && padding >= 0 && dilation > 0, "bad conv geometry")
        self.kh = kh; self.kw = kw; self.stride = stride; self.padding = padding; self.dilation = dilation
    }
    public func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1,
         (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1)
    }
}

extension Tensor {
    /// Unfolds NCHW patches into columns: [C*kh*kw, N*Ho*Wo], row = (c, ki, kj), column = (n, oh, ow).
    /// Linear; its adjoint is `col2im`, so every derivative order comes from the matmul rule.
    public func im2col(_ g: Conv2dGeometry) -> Tensor {
        precondition(rank == 4, "im2col needs NCHW, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (ho, wo) = g.outputSize(h, w)
        precondition(ho > 0 && wo > 0, "input \(h)x\(w) is smaller than the kernel")
        let out = Tensor(uninitializedShape: [c * g.kh * g.kw, n * ho * wo])
        if Im2colPlan.applies(wo: wo, g: g) {
            Im2colPlan.plan(n: n, c: c, h: h, w: w, g: g).gather(storage, into: out.storage)
        } else {
            im2colKernel(storage, out.storage, n: n, c: c, h: h, w: w, ho: ho, wo: wo, g: g)
        }
        let inShape = shape
        return out.recording("im2col", [self]) { gr, _, _ in [gr.col2im(inShape, g)] }
    }

    /// Adjoint of `im2col`: adds every column entry back onto the input position it came from.
    public func col2im(_ inputShape: [Int], _ g: Conv2dGeometry) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (ho, wo) = g.outputSize(h, w)
        precondition(shape == [c * g.kh * g.kw, n * ho * wo], "col2im shape \(shape) does not fit \(inputShape)")
        let out = Tensor(shape: inputShape, repeating: 0)
        if Im2colPlan.applies(wo: wo, g: g) {
            Im2colPlan.plan(n: n, c: c, h: h, w: w, g: g).scatterAdd(storage, into: out.storage)
        } else {
            col2imKernel(storage, out.storage, n: n, c: c, h: h, w: w, ho: ho, wo: wo, g: g)
        }
        return out.recording("col2im", [self]) { gr, _, _ in [gr.im2col(g)] }
    }
}

@inline(__always)
private func validRange(_ k: Int, _ size: Int, _ outSize: Int, _ g: Conv2dGeometry) -> (lo: Int, hi: Int) {
    // Output positions o with 0 <= o*stride - pad + k*dil < size.
    let off = k * g.dilation - g.padding
    var lo = 0
    if off < 0 { lo = (-off + g.stride - 1) / g.stride }
    var hi = outSize
    // o*stride + off <= size-1  ->  o <= (size-1-off)/stride
    let lim = size - 1 - off
    if lim < 0 { hi = 0 } else { hi = min(outSize, lim / g.stride + 1) }
    return (lo, max(lo, hi))
}

func im2colKernel(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>,
                  n: Int, c: Int, h: Int, w: Int, ho: Int, wo: Int, g: Conv2dGeometry) {
    let l = ho * wo, cols = n * l, s = g.stride
    // Channels in shape-fixed groups on the op threads: each channel's rows (and, for col2im, its input
    // planes) belong to one group, so nothing is shared between threads.
    OpThreads.forPieces(size: c, work: c * g.kh * g.kw * cols, minWork: 2 * OpThreads.minElementwiseWork) { channels in
        for ci in channels {
            for ki in 0..<g.kh {
                let (ohLo, ohHi) = validRange(ki, h, ho, g)
                for kj in 0..<g.kw {
                    let (owLo, owHi) = validRange(kj, w, wo, g)
                    let row = col + ((ci * g.kh + ki) * g.kw + kj) * cols
                    let dj = kj * g.dilation - g.padding, di = ki * g.dilation - g.padding
                    for b in 0..<n {
                        let dst = row + b * l
                        let src = x + (b * c + ci) * h * w
                        if ohLo > 0 { dst.update(repeating: 0, count: ohLo * wo) }
                        if ohHi < ho { (dst + ohHi * wo).update(repeating: 0, count: (ho - ohHi) * wo) }
                        for oh in ohLo..<ohHi {
                            let d = dst + oh * wo
                            let srow = src + (oh * s + di) * w
                            if owLo > 0 { d.update(repeating: 0, count: owLo) }
                            if owHi < wo { (d + owHi).update(repeating: 0, count: wo - owHi) }
                            if s == 1 {
                                (d + owLo).update(from: srow + owLo + dj, count: owHi - owLo)
                            } else {
                                for ow in owLo..<owHi { d[ow] = srow[ow &* s &+ dj] }
                            }
                        }
                    }
                }
            }
        }
    }
}

func col2imKernel(_ col: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                  n: Int, c: Int, h: Int, w: Int, ho: Int, wo: Int, g: Conv2dGeometry) {
    let l = ho * wo, cols = n * l, s = g.stride
    // Channels in shape-fixed groups on the op threads: each channel's rows (and, for col2im, its input
    // planes) belong to one group, so nothing is shared between threads.
    OpThreads.forPieces(size: c, work: c * g.kh * g.kw * cols, minWork: 2 * OpThreads.minElementwiseWork) { channels in
        for ci in channels {
            for ki in 0..<g.kh {
                let (ohLo, ohHi) = validRange(ki, h, ho, g)
                for kj in 0..<g.kw {
                    let (owLo, owHi) = validRange(kj, w, wo, g)
                    let row = col + ((ci * g.kh + ki) * g.kw + kj) * cols
                    let dj = kj * g.dilation - g.padding, di = ki * g.dilation - g.padding
                    for b in 0..<n {
                        let srcCol = row + b * l
                        let dst = x + (b * c + ci) * h * w
                        for oh in ohLo..<ohHi {
                            let sc = srcCol + oh * wo
                            let drow = dst + (oh * s + di) * w
                            if s == 1 {
                                for ow in owLo..<owHi { drow[ow &+ dj] += sc[ow] }
                            } else {
                                for ow in owLo..<owHi { drow[ow &* s &+ dj] += sc[ow] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// 2-D convolution (cross-correlation, as PyTorch): x [N,C,H,W], weight [O,C/groups,kh,kw], bias [O].
/// Computed as weight x im2col(x), so its backward passes are matmuls and col2im, all differentiable.
/// With `groups` > 1 (depthwise when groups = C) the columns and the weight split into `groups` blocks and
/// one batched matmul multiplies each block pair: output channels [g*O/G, (g+1)*O/G) see input channels
/// [g*C/G, (g+1)*C/G), as PyTorch's `groups`.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                   groups: Int = 1) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4, "conv2d needs NCHW input and OCkk weight, got \(x.shape), \(weight.shape)")
    precondition(groups >= 1 && x.shape[1] % groups == 0 && weight.shape[0] % groups == 0, "conv2d: \(groups) groups do not divide \(x.shape), \(weight.shape)")
    precondition(x.shape[1] == weight.shape[1] * groups, "conv2d: input has \(x.shape[1]) channels, weight expects \(weight.shape[1] * groups)")
    let g = Conv2dGeometry(kh: weight.shape[2], kw: weight.shape[3], stride: stride, padding: padding, dilation: dilation)
    let (n, o) = (x.shape[0], weight.shape[0])
    let (ho, wo) = g.outputSize(x.shape[2], x.shape[3])
    // A 1x1 stride-1 unpadded convolution of one image needs no im2col: its columns are the input itself, seen as
    // [C, H*W] (a view, so neither the copy nor col2im's zeroed scatter in the backward passes).
    let pointwise = n == 1 && g.kh == 1 && g.kw == 1 && g.stride == 1 && g.padding == 0
    let cols = pointwise ? x.reshaped([x.shape[1], ho * wo]) : x.im2col(g)
    var y: Tensor
    if groups == 1 {
        y = matmul(weight.reshaped([o, weight.count / o]), cols)                      // [O, N*Ho*Wo]
    } else {
        let rows = weight.count / o                                                     // C/G * kh * kw
        y = matmul(weight.reshaped([groups, o / groups, rows]), cols.reshaped([groups, rows, n * ho * wo]))
            .reshaped([o, n * ho * wo])
    }
    y = n == 1 ? y.reshaped([1, o, ho, wo]) : y.reshaped([o, n, ho, wo]).permuted([1, 0, 2, 3])
    if let b = bias { y = y.addingChannelBias(b) }
    return y
}

/// Fully connected layer: x [N, in] * weight[out, in]^T + bias.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let y = matmul(x, weight, transposeB: true)
    if let b = bias { return y + b }
    return y
}
