import XCTest
import Tensor
import NumericsSupport

/// First- and second-order finite-difference checks of every differentiable op.
final class OpGradientTests: XCTestCase {
    var gc = GradCheck()
    func r(_ shape: [Int], lo: Float = -1, hi: Float = 1) -> Tensor { Tensor.uniform(shape, low: lo, high: hi, using: &gc.rng) }

    func testBroadcastArithmetic() {
        let a = r([2, 3, 4]), b = r([3, 1]), c = r([4]), pos = r([3, 1], lo: 0.5, hi: 2)
        gc.check([a, b], linear: true) { $0[0] + $0[1] }
        gc.check([a, c], linear: true) { $0[0] - $0[1] }
        gc.check([a, b]) { $0[0] * $0[1] }
        gc.check([a, pos]) { $0[0] / $0[1] }
        gc.check([a], linear: true) { -$0[0] * 3 + 2 }
        gc.check([a, b]) { ($0[0] * $0[1]) * ($0[0] + $0[1]) }   // second derivative non-trivial
    }

    func testUnaryFunctions() {
        let x = r([2, 5]), pos = r([2, 5], lo: 0.3, hi: 2)
        gc.check([x]) { $0[0].exp() }
        gc.check([pos]) { $0[0].log() }
        gc.check([pos]) { $0[0].sqrt() }
        gc.check([pos]) { $0[0].pow(3) }
        gc.check([pos]) { $0[0].pow(-0.5) }
        gc.check([x]) { $0[0].pow(2) }
        gc.check([x]) { $0[0].sigmoid() }
        gc.check([x]) { $0[0].tanh() }
        gc.check([x]) { $0[0].softplus() }
        gc.check([x]) { 1 / ($0[0] * $0[0] + 1) }
    }

    /// Piecewise-linear ops: inputs kept away from the kinks so finite differences are valid.
    func testPiecewiseLinear() {
        let x = Tensor(shape: [6], data: [-0.9, -0.4, -0.2, 0.3, 0.6, 1.1])
        gc.check([x]) { $0[0].relu() * $0[0] }
        gc.check([x]) { $0[0].leakyRelu(0.1) * $0[0] }
        gc.check([x]) { $0[0].abs() * $0[0] }
        gc.check([x]) { $0[0].clamp(min: -0.5, max: 0.5) * $0[0] }
        XCTAssertEqual(x.sign().scalars, [-1, -1, -1, 1, 1, 1])
    }

    func testReductionsAndShapes() {
        let x = r([2, 3, 4])
        gc.check([x]) { $0[0].sum(axes: [1]) * $0[0].sum(axes: [1]) }
        gc.check([x]) { $0[0].mean(axes: [0, 2], keepDims: true) * $0[0] }
        gc.check([x]) { ($0[0] * $0[0]).mean() }
        gc.check([x]) { $0[0].reshaped([4, 6]).pow(2) }
        gc.check([x]) { $0[0].permuted([2, 0, 1]) * $0[0].permuted([2, 0, 1]) }
        gc.check([x]) { $0[0].transposed().pow(2) }
        gc.check([x]) { $0[0].slice(axis: 2, 1..<3).pow(2) }
        gc.check([x]) { $0[0].padded([(0, 0), (1, 2), (2, 0)]).pow(2) }
        gc.check([x, r([2, 2, 4])]) { concat([$0[0], $0[1]], axis: 1).pow(2) }
        gc.check([x, r([4])]) { $0[1].expand(to: [2, 3, 4]) * $0[0] }
        gc.check([x, x]) { dot($0[0], $0[1]) * dot($0[0], $0[0]) }
    }

    /// The per-channel ops batch-norm is built from, to the third order, and ReLU's one-pass backward.
    func testChannelOps() {
        let x = r([2, 3, 2, 3]), y = r([2, 3, 2, 3]), s = r([3]), t = r([3])
        gc.check([x, s, t]) { $0[0].channelAffine(scale: $0[1], shift: $0[2]).pow(2) }
        gc.check([x, t]) { $0[0].channelAffine(scale: nil, shift: $0[1]).pow(2) }
        gc.check([x, y]) { $0[0].channelDot($0[1]) * $0[0].channelSum() }
        gc.check([x]) { $0[0].channelSquaredNorm().pow(2) }
        gc.checkThirdOrder([x, s]) { $0[0].channelAffine(scale: $0[1].pow(2), shift: nil).channelSquaredNorm().pow(2) }
        gc.checkThirdOrder([x, y]) { $0[0].channelDot($0[1]).pow(3) }
        // Values: channel 1 of sample 0 holds elements 6..<12.
        let dot = x.channelDot(y).scalars, xs = x.scalars, ys = y.scalars
        var want1: Float = 0
        for n in 0..<2 { for k in 0..<6 { want1 += xs[n * 18 + 6 + k] * ys[n * 18 + 6 + k] } }
        XCTAssertEqual(dot[1], want1, accuracy: 1e-5)
        let aff = x.channelAffine(scale: s, shift: t).scalars
        XCTAssertEqual(aff[18 + 13], xs[18 + 13] * s.scalars[2] + t.scalars[2], accuracy: 1e-6)
        let z = Tensor(shape: [6], data: [-0.9, -0.4, -0.2, 0.3, 0.6, 1.1])
        gc.check([z]) { ($0[0].relu() * $0[0]).pow(2) }
        let zl = z.detached(requiresGrad: true)
        XCTAssertEqual(grad(of: (zl.relu() * 2).sum(), wrt: [zl])[0].scalars, [0, 0, 0, 2, 2, 2])
    }

    func testFusedOps() {
        let x = r([2, 3, 2, 2]), b = r([3]), t = r([2, 3, 2, 2])
        gc.check([x, b]) { $0[0].addingChannelBias($0[1]).sigmoid() }
        gc.check([x]) { $0[0].channelSum().pow(2) }
        gc.check([b]) { $0[0].channelBroadcast(to: [2, 3, 2, 2]).sigmoid() }
        gc.check([x, t]) { squaredDistance($0[0].sigmoid(), $0[1]) }
        XCTAssertEqual(squaredDistance(Tensor(shape: [2], data: [1, 2]), Tensor(shape: [2], data: [0, 4])).scalar, 5)
        XCTAssertEqual(x.channelSum().scalars, x.sum(axes: [0, 2, 3]).scalars.map { $0 }, "channel sums")
        // The cosine's pair of sums and the one-pass combination its backward uses, to the third order.
        let s = r([]), u = r([])
        gc.check([x, t]) { dotAndSquaredNorm($0[0].sigmoid(), $0[1]).pow(2) }
        gc.checkThirdOrder([x, t]) { dotAndSquaredNorm($0[0], $0[1]).pow(3) }
        gc.check([x, t, s]) { scaledDifference($0[0], $0[1], $0[2]).pow(2) }
        gc.checkThirdOrder([x, t, s]) { scaledDifference($0[0], $0[1], $0[2]).pow(3) }
        gc.checkThirdOrder([x, t]) { squaredDistance($0[0], $0[1]).pow(2) }
        XCTAssertEqual(scaledDifference(x, t, s).scalars.map(\.bitPattern), ((x - t) * s).scalars.map(\.bitPattern))
        gc.check([x, s, t, u]) { linearCombination($0[0], $0[1], $0[2], $0[3]).pow(2) }
        gc.checkThirdOrder([x, s, t, u]) { linearCombination($0[0], $0[1], $0[2], $0[3]).pow(3) }
        XCTAssertEqual(dotAndSquaredNorm(Tensor(shape: [2], data: [1, 2]), Tensor(shape: [2], data: [3, -4])).scalars, [-5, 5])
        XCTAssertEqual(linearCombination(Tensor(shape: [2], data: [1, 2]), Tensor(0.5), Tensor(shape: [2], data: [3, -4]),
                                         Tensor(2)).scalars, [6.5, -7])
    }

    /// The pair is the two dots bit for bit (the cosine loss's value did not move), at sizes that take the serial
    /// path, the blocked parallel path and a ragged tail.
    func testDotAndSquaredNormIsTwoDotsBitForBit() {
        for n in [7, 4096 + 13, 40 * 4096 + 5, 300_001] {
            let a = r([n]), b = r([n])
            let pair = dotAndSquaredNorm(a, b).scalars
            XCTAssertEqual(pair[0].bitPattern, dot(a, b).scalar.bitPattern, "a.b, n = \(n)")
            XCTAssertEqual(pair[1].bitPattern, dot(a, a).scalar.bitPattern, "a.a, n = \(n)")
        }
    }

    func testMatmul() {
        let a = r([3, 4]), b = r([4, 5]), bt = r([5, 4]), at = r([4, 3])
        gc.check([a, b]) { matmul($0[0], $0[1]).pow(2) }
        gc.check([a, bt]) { matmul($0[0], $0[1], transposeB: true).pow(2) }
        gc.check([at, b]) { matmul($0[0], $0[1], transposeA: true).pow(2) }
        gc.check([at, bt]) { matmul($0[0], $0[1], transposeA: true, transposeB: true).pow(2) }
        gc.check([r([2, 3, 4]), r([2, 4, 2])]) { matmul($0[0], $0[1]).pow(2) }
        gc.check([r([2, 3, 4]), b]) { matmul($0[0], $0[1]).pow(2) }
    }

    func testConvolution() {
        let x = r([2, 2, 5, 6]), w = r([3, 2, 3, 3]), b = r([3])
        gc.check([x, w, b]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: 1, padding: 1).sigmoid() }
        gc.check([x, w]) { conv2d($0[0], weight: $0[1], stride: 2, padding: 2).pow(2) }
        gc.check([x, w]) { conv2d($0[0], weight: $0[1], stride: 1, padding: 0, dilation: 2).pow(2) }
        gc.check([r([1, 2, 4, 4]), r([2, 2, 1, 1])]) { conv2d($0[0], weight: $0[1], stride: 2).pow(2) }
        // 1x1 stride 1 on one image (no im2col: the input is the columns), plain and grouped, to the third order,
        // and equal to the im2col path (the same image inside a batch of two).
        let p1 = r([1, 4, 3, 5]), pw = r([6, 4, 1, 1]), pb = r([6])
        gc.check([p1, pw, pb]) { conv2d($0[0], weight: $0[1], bias: $0[2]).sigmoid() }
        gc.check([p1, r([6, 2, 1, 1])]) { conv2d($0[0], weight: $0[1], groups: 2).pow(2) }
        gc.checkThirdOrder([p1, pw]) { conv2d($0[0], weight: $0[1]).pow(3) }
        let pair = concat([p1, r([1, 4, 3, 5])], axis: 0)
        let viaIm2col = conv2d(pair, weight: pw, bias: pb).slice(axis: 0, 0..<1).scalars
        for (a, e) in zip(conv2d(p1, weight: pw, bias: pb).scalars, viaIm2col) { XCTAssertEqual(a, e, accuracy: 1e-6) }
    }

    /// Grouped and depthwise convolution (MobileNet, EfficientNet): derivatives to second order, and each
    /// group equal to an ordinary convolution of its own channels.
    func testGroupedConvolution() {
        let x = r([2, 4, 5, 5]), w = r([6, 2, 3, 3]), b = r([6])
        gc.check([x, w, b]) { conv2d($0[0], weight: $0[1], bias: $0[2], padding: 1, groups: 2).sigmoid() }
        gc.check([x, r([4, 1, 3, 3])]) { conv2d($0[0], weight: $0[1], stride: 2, padding: 1, groups: 4).pow(2) }
        let y = conv2d(x, weight: w, padding: 1, groups: 2)
        for g in 0..<2 {
            let part = conv2d(x.slice(axis: 1, 2 * g ..< 2 * g + 2), weight: w.slice(axis: 0, 3 * g ..< 3 * g + 3), padding: 1)
            let ours = y.slice(axis: 1, 3 * g ..< 3 * g + 3).scalars
            for (a, e) in zip(ours, part.scalars) { XCTAssertEqual(a, e, accuracy: 1e-5) }
        }
    }

    func testErf() {
        gc.check([r([3, 4])]) { $0[0].erf() }
        for (a, e) in zip(Tensor(shape: [3], data: [0, 1, -2]).erf().scalars, [Float(0), 0.8427008, -0.9953223]) { XCTAssertEqual(a, e, accuracy: 1e-6) }
    }

    func testIm2colAndCol2imAreAdjoint() {
        let g = Conv2dGeometry(kernel: 3, stride: 2, padding: 1)
        let x = r([2, 3, 7, 6])
        let cols = x.im2col(g)
        let y = r(cols.shape)
        let lhs = dot(cols, y).scalar, rhs = dot(x, y.col2im(x.shape, g)).scalar
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, Swift.abs(lhs)))
    }

    func testConvMatchesDirectSum() {
        let x = r([1, 2, 5, 5]), w = r([2, 2, 3, 3]), b = r([2])
        let y = conv2d(x, weight: w, bias: b, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [1, 2, 3, 3])
        let xs = x.scalars, ws = w.scalars
        for o in 0..<2 { for oh in 0..<3 { for ow in 0..<3 {
            var s = b.scalars[o]
            for c in 0..<2 { for i in 0..<3 { for j in 0..<3 {
                let ih = oh * 2 - 1 + i, iw = ow * 2 - 1 + j
                if ih >= 0 && ih < 5 && iw >= 0 && iw < 5 { s += xs[(c * 5 + ih) * 5 + iw] * ws[((o * 2 + c) * 3 + i) * 3 + j] }
            } } }
            XCTAssertEqual(y.scalars[(o * 3 + oh) * 3 + ow], s, accuracy: 1e-5)
        } } }
    }

    func testPooling() {
        // Distinct values so the arg-max is stable under the finite-difference step.
        let vals: [Float] = (0..<144).map { (i: Int) -> Float in Float((i * 37) % 144) / 50 - 1.4 }
        let x = Tensor(shape: [2, 2, 6, 6], data: vals)
        gc.h = 1e-3
        gc.check([x]) { $0[0].maxPool2d(kernel: 2).pow(2) }
        gc.check([x]) { $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1).pow(2) }
        gc.h = 1e-2
        gc.check([x]) { $0[0].avgPool2d(kernel: 2).pow(2) }
        gc.check([x]) { $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1).pow(2) }
        gc.check([x]) { $0[0].adaptiveAvgPool2d(4, 4).pow(2) }
        gc.check([x]) { $0[0].adaptiveAvgPool2d(1, 1).pow(2) }
        let m = Tensor(shape: [1, 1, 2, 2], data: [1, 5, 3, 2]).maxPool2d(kernel: 2)
        XCTAssertEqual(m.scalars, [5])
        let a = Tensor(shape: [1, 1, 3, 3], data: (1...9).map(Float.init)).avgPool2d(kernel: 2, stride: 1, padding: 1)
        // count_include_pad: corner window holds one real value over 4 cells.
        XCTAssertEqual(a.scalars[0], 0.25, accuracy: 1e-6)
    }

    func testSoftmaxAndLosses() {
        let logits = r([3, 4], lo: -2, hi: 2)
        gc.check([logits]) { $0[0].logSoftmax() }
        gc.check([logits]) { $0[0].softmax() }
        gc.check([logits]) { crossEntropy($0[0], labels: [1, 0, 3]) }
        let t = r([3, 4], lo: 0, hi: 1)
        gc.check([logits, t]) { crossEntropy($0[0], softTargets: $0[1].softmax()) }
        // |differences| is piecewise linear: first order at random points (mixed signs); its Hessian is zero away
        // from the kinks, checked on a ramp whose differences all stay > 0.1 from zero.
        gc.check([r([1, 2, 4, 5])], secondOrder: false) { totalVariation($0[0]) }
        let noise = r([1, 2, 4, 5], lo: -0.05, hi: 0.05).scalars
        let ramp = Tensor(shape: [1, 2, 4, 5], data: (0..<40).map { k in Float((k % 20) / 5) * 0.3 - Float(k % 5) * 0.2 + noise[k] })
        gc.check([ramp], linear: true) { totalVariation($0[0]) }
        gc.check([r([2, 5]), r([2, 5])]) { cosineSimilarity($0[0], $0[1]) }
        gc.check([r([6]), r([2, 3]), r([6]), r([2, 3])]) { cosineSimilarity([$0[0], $0[1]], [$0[2], $0[3]]) }
        // Values against closed forms.
        let l = Tensor(shape: [1, 3], data: [1, 2, 3])
        let ce = crossEntropy(l, labels: [2]).scalar
        XCTAssertEqual(ce, -(3 - log(exp(1) + exp(2) + exp(3))), accuracy: 1e-6)
    }

    func testBatchNorm() {
        let x = r([3, 2, 2, 2]), w = r([2]), b = r([2])
        let rm = Tensor(shape: [2], data: [0.1, -0.2]), rv = Tensor(shape: [2], data: [0.5, 2])
        gc.check([x, w, b]) { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: true).0.sigmoid() }
        gc.check([x, w, b]) { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: false).0.pow(2) }
        // Third order, both modes: an attack differentiates the batch-norm's double backward once more only when a
        // caller nests grad deeper, but every order must be exact.
        gc.checkThirdOrder([x, w, b]) { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: true).0.sigmoid() }
        gc.checkThirdOrder([x, w]) { batchNorm($0[0], weight: $0[1], bias: nil, runningMean: rm, runningVar: rv, training: false).0.pow(3) }
        // Without weight and bias, and on an N x C input (BatchNorm1d).
        gc.check([x]) { batchNorm($0[0], weight: nil, bias: nil, runningMean: rm, runningVar: rv, training: true).0.sigmoid() }
        let x2 = r([5, 2])
        gc.check([x2, w, b]) { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: true).0.sigmoid() }
        // The same values as the broadcasting formula (x - mean) / sqrt(var + eps) * w + b.
        let axes = [0, 2, 3]
        let mean = x.mean(axes: axes, keepDims: true), xc = x - mean
        let reference = xc * ((xc * xc).mean(axes: axes, keepDims: true) + 1e-5).pow(-0.5) * w.reshaped([1, 2, 1, 1]) + b.reshaped([1, 2, 1, 1])
        let fused = batchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv, training: true).0
        for (p, q) in zip(fused.scalars, reference.scalars) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        let (y, nm, nv) = batchNorm(x, weight: nil, bias: nil, runningMean: rm, runningVar: rv, training: true, momentum: 0.1)
        // Normalised per channel: mean 0, biased variance 1 (up to eps).
        let ch0 = (0..<3).flatMap { n in (0..<4).map { y.scalars[n * 8 + $0] } }
        XCTAssertEqual(ch0.reduce(0, +) / 12, 0, accuracy: 1e-5)
        XCTAssertEqual(ch0.map { $0 * $0 }.reduce(0, +) / 12, 1, accuracy: 1e-3)
        let xs0 = (0..<3).flatMap { n in (0..<4).map { x.scalars[n * 8 + $0] } }
        let mean0 = xs0.reduce(0, +) / 12
        let unbiased = xs0.map { ($0 - mean0) * ($0 - mean0) }.reduce(0, +) / 11
        XCTAssertEqual(nm!.scalars[0], 0.9 * 0.1 + 0.1 * mean0, accuracy: 1e-6)
        XCTAssertEqual(nv!.scalars[0], 0.9 * 0.5 + 0.1 * unbiased, accuracy: 1e-5)
    }

    /// The gradient of a gradient through a small conv net: the pattern every attack uses.
    func testDoubleBackwardThroughNetwork() {
        let w1 = r([3, 2, 3, 3]), w2 = r([4, 12])
        gc.check([r([1, 2, 4, 4])]) { xs in
            let h = conv2d(xs[0], weight: w1, stride: 2, padding: 1).sigmoid().flattened()
            let loss = crossEntropy(linear(h, weight: w2), labels: [1])
            let gw = grad(of: loss, wrt: [w1.requiringGrad(), w2.requiringGrad()], createGraph: true)
            return gw[0].pow(2).sum() + gw[1].pow(2).sum()
        }
    }
}
