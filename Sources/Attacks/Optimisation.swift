import Foundation
import NN
import Tensor

/// The optimisation loops shared by the attacks: L-BFGS (DLG, iDLG, CPL) and boxed Adam (GradInv) over
/// the dummy images (and, for DLG, the dummy label logits), against a `GradientMatching` loss.
struct MatchingOptimisation {
    let matching: GradientMatching
    let config: AttackConfig
    let progress: AttackProgress?

    struct Outcome {
        var x: Tensor
        var logits: Tensor?
        var loss: Double
        var iterations: Int
        var evaluations: Int
        /// Stopped by a tolerance within a quarter of its iteration budget (L-BFGS stall).
        var stalled: Bool = false
        /// `loss` relative to the update's size (see `relative(_:)`).
        var relativeLoss: Double = .nan
        /// The loss at each step, in order (`AttackResult.lossTrace`).
        var trace: [Double] = []
    }

    /// The loss relative to the update's size: loss / |update|^2 for squared L2, the loss for cosine.
    func relative(_ loss: Double) -> Double {
        matching.distance == .cosine ? loss : loss / max(Double(matching.targetNormSquared), 1e-30)
    }

    private func split(_ v: [Float], _ xShape: [Int], _ lShape: [Int]?) -> (Tensor, Tensor?) {
        let nx = xShape.reduce(1, *)
        let x = Tensor(shape: xShape, data: Array(v[0..<nx])).requiringGrad()
        guard let ls = lShape else { return (x, nil) }
        return (x, Tensor(shape: ls, data: Array(v[nx...])).requiringGrad())
    }

    private func objective(_ xShape: [Int], _ lShape: [Int]?) -> OptimizerObjective<Float> {
        { v in
            let (x, l) = split(v, xShape, lShape)
            let r = matching.evaluate(x: x, logits: l)
            var g = r.gradX.scalars
            if let gl = r.gradLogits { g += gl.scalars }
            return (Double(r.loss), g)
        }
    }

    /// torch.optim.LBFGS for `config.iterations` steps; the final iterate is returned (if the last loss
    /// is not finite, the optimiser has already restored its best iterate).
    func lbfgs(x0: Tensor, logits0: Tensor?) throws -> Outcome {
        let start = x0.scalars + (logits0?.scalars ?? [])
        let opt = LBFGS<Float>(parameters: start, options: LBFGSOptions(lr: config.learningRate, maxIter: config.maxIterPerStep))
        var o = try optimise(opt, x0.shape, logits0?.shape) { _ in true }
        // Stalled: stopped by a tolerance within a quarter of its iteration budget.
        o.stalled = o.iterations * 4 < config.iterations * max(1, config.maxIterPerStep)
        return o
    }

    /// The one optimisation loop of every attack: `config.iterations` steps of `opt` on the matching loss,
    /// stopping early below `config.earlyStopLoss` or when the optimiser gives up; progress after the steps
    /// `report` picks. The outcome holds the final iterate and the loss there (`step` returns the loss
    /// before its own update, so the final loss is evaluated once more).
    func optimise<O: ParameterOptimizer>(_ opt: O, _ xShape: [Int], _ lShape: [Int]?, report: (Int) -> Bool) throws -> Outcome
        where O.Scalar == Float {
        let n = config.iterations
        let f = objective(xShape, lShape)
        var trace: [Double] = []
        trace.reserveCapacity(n)
        for step in 0..<n {
            let loss = try opt.step(f)
            if loss.isFinite { trace.append(loss) }
            if report(step) || step == n - 1 { progress?(step + 1, n, loss) }
            if let stop = config.earlyStopLoss, loss < stop { break }
            if opt.isStopped { break }
        }
        let (x, l) = split(opt.parameters, xShape, lShape)
        let final = Double(matching.evaluate(x: x, logits: l).loss)
        return Outcome(x: x, logits: l, loss: final, iterations: opt.iterations, evaluations: opt.evaluations + 1,
                       stalled: false, relativeLoss: relative(final), trace: trace + (final.isFinite ? [final] : []))
    }

    /// Adam (optionally on signed gradients) with inversefed's MultiStepLR (milestones n // 2.667, n // 1.6,
    /// n // 1.142: about 3/8, 5/8, 7/8) and a [0, 1] box applied after every step. As in inversefed, the start
    /// itself is not clamped: the first gradient is taken at the raw randn draw.
    func adam(x0: Tensor) throws -> Outcome {
        let n = config.iterations
        let options = AdamOptions(lr: config.learningRate, signedGradients: config.signedGradients,
                                  schedule: .invertingGradients(maxIterations: n), box: [.unit()])
        let opt = Adam<Float>(parameters: x0.scalars, options: options)
        return try optimise(opt, x0.shape, nil) { $0 % 10 == 0 }
    }
}

/// Dummy images for an initialisation scheme, in pixel space. `randn` is a standard normal draw in the
/// network's input space, as in the published attacks: with an input normalisation in the model it is
/// mapped back to pixels (mean + std x N(0, 1)), so that the network sees the same start as theirs.
func initialImages(_ scheme: InitScheme, shape: [Int], rng: inout SeededGenerator, normalization: InputNormalization? = nil) -> Tensor {
    let (b, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    switch scheme {
    case .randn:
        let z = Tensor.randn(shape, using: &rng)
        return normalization.map { $0.invert(z) } ?? z
    case .uniform: return Tensor.uniform(shape, using: &rng)
    case .zeros: return Tensor.zeros(shape)
    case .constant: return Tensor(shape: shape, repeating: 0.5)
    case .patterned:
        var v = [Float](repeating: 0, count: b * c * h * w)
        let t = 16
        for n in 0..<b {
            let tile = (0..<(c * t * t)).map { _ in rng.uniform() }
            for ch in 0..<c { for y in 0..<h { for x in 0..<w {
                v[((n * c + ch) * h + y) * w + x] = tile[(ch * t + y % t) * t + x % t]
            } } }
        }
        return Tensor(shape: shape, data: v)
    case .randomPatch:
        var v = [Float](repeating: 0.5, count: b * c * h * w)
        let p = min(8, h, w)
        for n in 0..<b {
            let y0 = Int(rng.next() % UInt64(h - p + 1)), x0 = Int(rng.next() % UInt64(w - p + 1))
            for ch in 0..<c { for y in 0..<p { for x in 0..<p {
                v[((n * c + ch) * h + y0 + y) * w + x0 + x] = rng.uniform()
            } } }
        }
        return Tensor(shape: shape, data: v)
    }
}
