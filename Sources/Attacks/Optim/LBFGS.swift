import Foundation

/// Limited-memory BFGS with exactly the semantics of `torch.optim.LBFGS` (torch/optim/lbfgs.py),
/// on one flat parameter vector.
///
/// Each `step` runs up to `maxIter` iterations (and `maxEval` evaluations), like torch's
/// `optimizer.step(closure)`; the curvature history, the last direction and step length, the previous
/// gradient and loss persist across calls as in torch's `self.state`. On top of torch it keeps the
/// best iterate (lowest finite loss at which the objective was evaluated) and recovers from a
/// non-finite loss or gradient: the parameters go back to the best iterate, the memory is reset, the
/// step returns with `status == .nonFinite`, and the next `step` restarts from steepest descent
/// (after `maxNonFiniteRestarts` such restarts, `step` no longer evaluates).
///
/// Scalars derived from vectors (dot products, norms, `t`, `H_diag`, `ro`) are kept in `Double`
/// (torch keeps them in the tensor dtype); vectors are `Scalar` (`Float` like PyTorch float32, or `Double`).
public final class LBFGS<Scalar: BinaryFloatingPoint> {
    /// The settings (torch's `param_groups[0]`).
    public let options: LBFGSOptions
    /// The current parameter vector (torch's parameters after the latest step).
    public internal(set) var parameters: [Scalar]
    /// Iterations performed since creation, over all steps.
    public internal(set) var iterations = 0
    /// Objective evaluations since creation (torch's `state["func_evals"]`).
    public internal(set) var evaluations = 0
    /// Why the latest step returned.
    public internal(set) var stopReason = LBFGSStopReason.none
    /// How many times a non-finite evaluation restored the best iterate.
    public internal(set) var nonFiniteRestarts = 0

    var best: BestIterate<Scalar>
    var lastLoss: Double?

    // torch's self.state, kept between steps.
    var d: [Scalar] = []
    var t = 0.0
    var oldDirs: [[Scalar]] = []
    var oldStps: [[Scalar]] = []
    var ro: [Double] = []
    var hDiag = 1.0
    var prevFlatGrad: [Scalar] = []
    var prevLoss = 0.0
    /// torch's `state["n_iter"]` (back to 0 after a non-finite restart).
    var stateIter = 0

    /// Starts at `parameters` (the flat vector the objective takes).
    public init(parameters: [Scalar], options: LBFGSOptions = LBFGSOptions()) {
        self.parameters = parameters
        self.options = options
        self.best = BestIterate(parameters: parameters)
    }

    /// Status after the latest step.
    public var status: OptimizerStatus { stopReason.status }
    /// The best iterate: where the objective returned its lowest finite loss (the start before any).
    public var bestParameters: [Scalar] { best.parameters }
    /// The lowest finite loss seen, `nil` before any.
    public var bestLoss: Double? { best.hasLoss ? best.loss : nil }
    /// Curvature pairs currently stored (torch's `len(state["old_dirs"])`).
    public var historyCount: Int { oldDirs.count }
    /// `true` once `maxNonFiniteRestarts` was exceeded: `step` no longer evaluates the objective.
    public var isStopped: Bool { nonFiniteRestarts > options.maxNonFiniteRestarts }

    /// Counters and losses so far.
    public var report: OptimizerReport {
        OptimizerReport(iterations: iterations, evaluations: evaluations, finalLoss: lastLoss,
                        bestLoss: bestLoss, status: status, nonFiniteRestarts: nonFiniteRestarts)
    }

    /// One `torch.optim.LBFGS.step(closure)`: up to `maxIter` iterations.
    ///
    /// - Returns: the first loss the objective returned in this step (torch's `orig_loss`), or, if
    ///   that one was not finite (or the optimiser is stopped), the best loss so far (`+inf` if none).
    @discardableResult
    public func step(_ objective: OptimizerObjective<Scalar>) rethrows -> Double {
        if isStopped {
            stopReason = .stopped
            return best.loss
        }
        let o = options
        guard let first = try evaluate(objective, at: parameters) else {
            recoverFromNonFinite()
            return best.loss
        }
        var loss = first.loss
        var flatGrad = first.gradient
        let origLoss = loss
        var currentEvals = 1

        var optCond = OptimKernels.absMax(flatGrad) <= o.toleranceGrad
        if optCond {
            stopReason = .gradientTolerance
            return origLoss
        }

        var nIter = 0
        var reason = LBFGSStopReason.maxIterations
        while nIter < o.maxIter {
            nIter += 1
            stateIter += 1
            iterations += 1

            // Descent direction.
            if stateIter == 1 {
                d = OptimKernels.negated(flatGrad)
                oldDirs = []
                oldStps = []
                ro = []
                hDiag = 1
            } else {
                updateHistory(flatGrad: flatGrad)
                d = twoLoopDirection(flatGrad: flatGrad)
            }
            prevFlatGrad = flatGrad
            prevLoss = loss

            // Step length: the first iteration ever is scaled by min(1, 1/|g|_1).
            t = stateIter == 1 ? OptimKernels.pyMin(1.0, 1.0 / OptimKernels.absSum(flatGrad)) * o.lr : o.lr

            let gtd = OptimKernels.dot(flatGrad, d)
            if gtd > -o.toleranceChange {
                reason = .directionalDerivative
                break
            }

            var lsFuncEvals = 0
            if o.lineSearchFn == .strongWolfe {
                guard let ls = try strongWolfe(objective, x: parameters, t: t, d: d, f: loss, g: flatGrad,
                                               gtd: gtd) else {
                    recoverFromNonFinite()
                    return origLoss
                }
                loss = ls.loss
                flatGrad = ls.gradient
                t = ls.t
                lsFuncEvals = ls.evaluations
                OptimKernels.axpy(t, d, &parameters)
                optCond = OptimKernels.absMax(flatGrad) <= o.toleranceGrad
            } else {
                OptimKernels.axpy(t, d, &parameters)
                if nIter != o.maxIter {
                    // torch re-evaluates only when this is not the step's last iteration.
                    guard let e = try evaluate(objective, at: parameters) else {
                        recoverFromNonFinite()
                        return origLoss
                    }
                    loss = e.loss
                    flatGrad = e.gradient
                    optCond = OptimKernels.absMax(flatGrad) <= o.toleranceGrad
                    lsFuncEvals = 1
                }
            }
            currentEvals += lsFuncEvals

            // Stopping rules, in torch's order.
            if nIter == o.maxIter { reason = .maxIterations; break }
            if currentEvals >= o.maxEval { reason = .maxEvaluations; break }
            if optCond { reason = .gradientTolerance; break }
            if OptimKernels.absMax(OptimKernels.scaled(d, by: t)) <= o.toleranceChange {
                reason = .stepTolerance
                break
            }
            if Swift.abs(loss - prevLoss) < o.toleranceChange { reason = .lossChange; break }
        }
        stopReason = reason
        return origLoss
    }

    /// Adds the pair (y, s) = (g - g_prev, t d) when `y·s > 1e-10`, dropping the oldest when full.
    private func updateHistory(flatGrad: [Scalar]) {
        let y = OptimKernels.difference(flatGrad, prevFlatGrad)
        let s = OptimKernels.scaled(d, by: t)
        let ys = OptimKernels.dot(y, s)
        guard ys > 1e-10 else { return }
        if oldDirs.count == options.historySize {
            oldDirs.removeFirst()
            oldStps.removeFirst()
            ro.removeFirst()
        }
        oldDirs.append(y)
        oldStps.append(s)
        ro.append(1.0 / ys)
        hDiag = ys / OptimKernels.dot(y, y)
    }

    /// The two-loop recursion: `-H g` with the stored pairs and initial Hessian `H_diag * I`.
    private func twoLoopDirection(flatGrad: [Scalar]) -> [Scalar] {
        let numOld = oldDirs.count
        var al = [Double](repeating: 0, count: numOld)
        var q = OptimKernels.negated(flatGrad)
        for i in stride(from: numOld - 1, through: 0, by: -1) {
            al[i] = OptimKernels.dot(oldStps[i], q) * ro[i]
            OptimKernels.axpy(-al[i], oldDirs[i], &q)
        }
        var r = OptimKernels.scaled(q, by: hDiag)
        for i in 0..<numOld {
            let be = OptimKernels.dot(oldDirs[i], r) * ro[i]
            OptimKernels.axpy(al[i] - be, oldStps[i], &r)
        }
        return r
    }

    /// Calls the objective at `x`; counts it; records the best iterate; `nil` when not finite.
    func evaluate(_ objective: OptimizerObjective<Scalar>, at x: [Scalar]) rethrows
        -> (loss: Double, gradient: [Scalar])? {
        let r = try objective(x)
        evaluations += 1
        precondition(r.gradient.count == x.count,
                     "LBFGS: gradient has \(r.gradient.count) elements, parameters \(x.count)")
        guard r.loss.isFinite, OptimKernels.allFinite(r.gradient) else { return nil }
        best.offer(loss: r.loss, at: x)
        lastLoss = r.loss
        return r
    }

    /// Back to the best iterate with an empty memory; the next step starts like a fresh optimiser.
    private func recoverFromNonFinite() {
        parameters = best.parameters
        if best.hasLoss { lastLoss = best.loss }
        d = []
        t = 0
        oldDirs = []
        oldStps = []
        ro = []
        hDiag = 1
        prevFlatGrad = []
        prevLoss = 0
        stateIter = 0
        nonFiniteRestarts += 1
        stopReason = .nonFinite
    }
}
