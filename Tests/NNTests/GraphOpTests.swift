import XCTest
import NN
import NumericsSupport
import Tensor

/// Every graph op's derivatives, first and second order, against finite differences (the ops are written
/// with differentiable Tensor ops; these tests catch a wrong composition), plus the values of the ones whose
/// definition is easy to get wrong.
final class GraphOpTests: XCTestCase {
    var gc = GradCheck()
    func r(_ s: [Int]) -> Tensor { gc.randomLike(Tensor.zeros(s)) }

    func run(_ op: any GraphOp, _ inputs: [Tensor], bn: BNMode = .eval, buffers: [Tensor] = []) -> Tensor {
        var c = GraphContext(buffers: buffers, bn: bn)
        return op.run(inputs, &c)
    }

    func testActivations() {
        for f in [UnaryFunction.gelu, .silu, .hardSwish, .hardSigmoid(alpha: 0.2, beta: 0.5), .erf, .clip(-0.5, 0.7), .leakyRelu(0.1), .pow(3)] {
            // Away from the kinks of clip, hard-sigmoid and hard-swish (|x| < 3 after scaling) the check is smooth.
            gc.check([r([2, 5])], linear: false) { self.run(UnaryOp(f), [$0[0] * 0.9 + 0.05]).sigmoid() }
        }
        let x = Tensor(shape: [4], data: [-1, 0, 1, 4])
        let gelu = run(UnaryOp(.gelu), [x]).scalars
        for (a, e) in zip(gelu, [Float(-0.15865525), 0, 0.8413447, 3.9998734]) { XCTAssertEqual(a, e, accuracy: 1e-6, "exact (erf) GELU") }
        let hs = run(UnaryOp(.hardSwish), [x]).scalars
        for (a, e) in zip(hs, [Float(-1) / 3, 0, Float(2) / 3, 4]) { XCTAssertEqual(a, e, accuracy: 1e-6, "x relu6(x + 3) / 6") }
    }

    func testNormalisationsAndAttentionOps() {
        gc.check([r([2, 3, 4]), r([4]), r([4])]) { self.run(LayerNormOp(axis: -1, eps: 1e-6), $0).pow(2) }
        gc.check([r([2, 3, 4])]) { self.run(SoftmaxOp(axis: -1), [$0[0]]).pow(2) }
        gc.check([r([2, 3, 4])]) { self.run(SoftmaxOp(axis: 1), [$0[0]]).pow(2) }
        gc.check([r([2, 3, 4]), r([2, 4, 5])]) { self.run(MatMulOp(), $0).pow(2) }
        gc.check([r([2, 3, 4]), r([4, 5])]) { self.run(MatMulOp(), $0).pow(2) }
        gc.check([r([2, 3, 4])]) { self.run(ReduceMeanOp(axes: [1, 2], keepDims: true), [$0[0]]).pow(2) }
        // Layer norm's values: zero mean, unit (biased) variance over the normalised axes.
        let y = run(LayerNormOp(axis: -1, eps: 0), [r([3, 8])]).scalars
        for row in 0..<3 {
            let v = y[(row * 8)..<(row * 8 + 8)]
            let m = v.reduce(0, +) / 8
            XCTAssertEqual(m, 0, accuracy: 1e-5)
            XCTAssertEqual(v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 8, 1, accuracy: 1e-4)
        }
        let s = run(SoftmaxOp(axis: 0), [Tensor(shape: [2, 1], data: [0, Float(log(3.0))])]).scalars
        XCTAssertEqual(s[0], 0.25, accuracy: 1e-6); XCTAssertEqual(s[1], 0.75, accuracy: 1e-6)
    }

    func testDataMovement() {
        gc.check([r([2, 3, 4])], linear: true) { self.run(GatherOp(axis: 1, indices: [0], scalar: true), [$0[0]]) }
        gc.check([r([2, 3, 4])], linear: true) { self.run(GatherOp(axis: 2, indices: [3, 1], scalar: false), [$0[0]]) }
        gc.check([r([1, 1, 4])], linear: true) { self.run(ExpandOp([3, 2, 4]), [$0[0]]) }
        gc.check([r([2, 3, 4]), r([2, 1, 4])], linear: true) { self.run(ConcatOp(axis: 1), $0) }
        gc.check([r([2, 3, 4])], linear: true) { self.run(SliceOp([0..<2, 1..<3, 0..<4]), [$0[0]]) }
        gc.check([r([2, 3, 4])], linear: true) { self.run(TransposeOp([2, 0, 1]), [$0[0]]) }
        gc.check([r([1, 2, 3, 3])], linear: true) { self.run(PadOp([(0, 0), (0, 0), (1, 0), (0, 2)]), [$0[0]]) }
        let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(run(GatherOp(axis: 1, indices: [2, 0], scalar: false), [t]).scalars, [3, 1, 6, 4])
        XCTAssertEqual(run(GatherOp(axis: 0, indices: [1], scalar: true), [t]).shape, [3])
    }

    func testShapeErrorsNameTheProblem() {
        XCTAssertThrowsError(try Conv2dOp(groups: 2).outputShape([[1, 3, 8, 8], [4, 1, 3, 3]]))
        XCTAssertThrowsError(try MatMulOp().outputShape([[2, 3], [4, 5]]))
        XCTAssertThrowsError(try ConcatOp(axis: 1).outputShape([[1, 2, 3], [1, 2, 4]]))
        XCTAssertThrowsError(try ReshapeOp([5]).outputShape([[2, 3]]))
        XCTAssertEqual(try Conv2dOp(stride: 2, padding: 1, groups: 4).outputShape([[1, 4, 8, 8], [8, 1, 3, 3]]), [1, 8, 4, 4])
    }
}
