import Foundation

/// Settings of `Adam`, named after `torch.optim.Adam`'s arguments and with the same defaults, plus
/// the Inverting Gradients options (signed gradients, a step schedule, a box).
public struct AdamOptions: Sendable, Equatable, Codable {
    /// Learning rate (torch `lr`, default 1e-3; Inverting Gradients uses 0.1).
    public var lr: Double
    /// Decay of the first-moment average (torch `betas[0]`, default 0.9).
    public var beta1: Double
    /// Decay of the second-moment average (torch `betas[1]`, default 0.999).
    public var beta2: Double
    /// Added to the bias-corrected root second moment (torch `eps`, default 1e-8).
    public var eps: Double
    /// L2 penalty added to the gradient, `g + weightDecay * x` (torch `weight_decay`, default 0).
    public var weightDecay: Double
    /// Use `sign(g)` (0 for 0) instead of `g`, as Geiping et al.'s `signed` option (default false).
    /// Applied before `weightDecay`, as there the closure signs the gradient before `Adam.step`.
    public var signedGradients: Bool
    /// Learning-rate schedule stepped once per iteration after the update (default none).
    public var schedule: MultiStepLR?
    /// Coordinates clamped after every update (default none). The starting point is not clamped.
    public var box: [BoxConstraint]
    /// Not in torch: how many times a non-finite loss or gradient may restore the best iterate
    /// (and reset the moments) before `step` stops evaluating (default 3).
    public var maxNonFiniteRestarts: Int

    public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                weightDecay: Double = 0, signedGradients: Bool = false, schedule: MultiStepLR? = nil,
                box: [BoxConstraint] = [], maxNonFiniteRestarts: Int = 3) {
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.signedGradients = signedGradients
        self.schedule = schedule
        self.box = box
        self.maxNonFiniteRestarts = maxNonFiniteRestarts
    }
}

/// `torch.optim.Adam` (single-tensor CPU path, bias correction, no AMSGrad) on one flat vector,
/// with Inverting Gradients' signed gradients, `MultiStepLR` schedule and box constraints.
///
/// Each `step` evaluates the objective once and updates the parameters once. It keeps the best
/// iterate (lowest finite loss; the loss belongs to the point *before* that step's update). A
/// non-finite loss or gradient restores the best iterate and zeroes the moments (the bias correction
/// restarts); the schedule keeps counting iterations.
public final class Adam<Scalar: BinaryFloatingPoint> {
    /// The settings.
    public let options: AdamOptions
    /// The current parameter vector.
    public private(set) var parameters: [Scalar]
    /// The learning rate the next step will use (after the schedule).
    public private(set) var learningRate: Double
    /// Updates performed since creation.
    public private(set) var iterations = 0
    /// Objective evaluations since creation.
    public private(set) var evaluations = 0
    /// Status after the latest step (`.running`, or `.nonFinite`).
    public private(set) var status = OptimizerStatus.notStarted
    /// How many times a non-finite evaluation restored the best iterate.
    public private(set) var nonFiniteRestarts = 0

    private var best: BestIterate<Scalar>
    private var lastLoss: Double?
    private var expAvg: [Scalar]
    private var expAvgSq: [Scalar]
    /// torch's `state["step"]` (back to 0 after a non-finite restart).
    private var stepCount = 0
    /// The scheduler's `last_epoch`.
    private var epoch = 0

    /// Starts at `parameters` (the flat vector the objective takes).
    public init(parameters: [Scalar], options: AdamOptions = AdamOptions()) {
        self.options = options
        self.parameters = parameters
        self.best = BestIterate(parameters: parameters)
        self.expAvg = [Scalar](repeating: 0, count: parameters.count)
        self.expAvgSq = [Scalar](repeating: 0, count: parameters.count)
        // Constructing a torch scheduler enters epoch 0.
        self.learningRate = options.lr * (options.schedule?.factor(enteringEpoch: 0) ?? 1)
    }

    /// The best iterate: where the objective returned its lowest finite loss (the start before any).
    public var bestParameters: [Scalar] { best.parameters }
    /// The lowest finite loss seen, `nil` before any.
    public var bestLoss: Double? { best.hasLoss ? best.loss : nil }
    /// `true` once `maxNonFiniteRestarts` was exceeded: `step` no longer evaluates the objective.
    public var isStopped: Bool { nonFiniteRestarts > options.maxNonFiniteRestarts }

    /// Counters and losses so far.
    public var report: OptimizerReport {
        OptimizerReport(iterations: iterations, evaluations: evaluations, finalLoss: lastLoss,
                        bestLoss: bestLoss, status: status, nonFiniteRestarts: nonFiniteRestarts)
    }

    /// One iteration: evaluate, update with the current learning rate, clamp, step the schedule.
    ///
    /// - Returns: the loss at the parameters before the update (what torch's `step(closure)`
    ///   returns), or the best loss so far (`+inf` if none) when it was not finite or the
    ///   optimiser is stopped.
    @discardableResult
    public func step(_ objective: OptimizerObjective<Scalar>) rethrows -> Double {
        if isStopped { return best.loss }
        let r = try objective(parameters)
        evaluations += 1
        precondition(r.gradient.count == parameters.count,
                     "Adam: gradient has \(r.gradient.count) elements, parameters \(parameters.count)")
        guard r.loss.isFinite, OptimKernels.allFinite(r.gradient) else {
            recoverFromNonFinite()
            advanceSchedule()
            return best.loss
        }
        best.offer(loss: r.loss, at: parameters)
        lastLoss = r.loss
        update(gradient: r.gradient)
        for constraint in options.box { constraint.apply(to: &parameters) }
        iterations += 1
        status = .running
        advanceSchedule()
        return r.loss
    }

    /// torch's `_single_tensor_adam` for one parameter tensor.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    private func update(gradient: [Scalar]) {
        let o = options
        stepCount += 1
        let step = Double(stepCount)
        let biasCorrection1 = 1 - pow(o.beta1, step)
        let biasCorrection2 = 1 - pow(o.beta2, step)
        let stepSize = learningRate / biasCorrection1
        let biasCorrection2Sqrt = biasCorrection2.squareRoot()

        let w = 1 - o.beta1                       // exp_avg.lerp_(grad, 1 - beta1)
        let lerpW = Scalar(w), lerpW1 = Scalar(1 - w), useLow = Swift.abs(w) < 0.5
        let b2 = Scalar(o.beta2), oneMinusB2 = Scalar(1 - o.beta2)
        let wd = Scalar(o.weightDecay), hasWD = o.weightDecay != 0, signed = o.signedGradients
        let c2 = Scalar(biasCorrection2Sqrt), eps = Scalar(o.eps), negStep = Scalar(-stepSize)

        gradient.withUnsafeBufferPointer { gp in
            expAvg.withUnsafeMutableBufferPointer { m in
                expAvgSq.withUnsafeMutableBufferPointer { v in
                    parameters.withUnsafeMutableBufferPointer { x in
                        for i in 0..<x.count {
                            var g = gp[i]
                            if signed { g = g > 0 ? 1 : (g < 0 ? -1 : 0) }
                            if hasWD { g = g + wd * x[i] }
                            m[i] = useLow ? m[i] + lerpW * (g - m[i]) : g - (g - m[i]) * lerpW1
                            v[i] = v[i] * b2
                            v[i] = v[i] + oneMinusB2 * g * g
                            let denom = v[i].squareRoot() / c2 + eps
                            x[i] = x[i] + negStep * m[i] / denom
                        }
                    }
                }
            }
        }
    }

    /// `scheduler.step()`: enter the next epoch; multiply the rate at milestones.
    private func advanceSchedule() {
        epoch += 1
        if let schedule = options.schedule {
            learningRate *= schedule.factor(enteringEpoch: epoch)
        }
    }

    /// Back to the best iterate with zeroed moments.
    private func recoverFromNonFinite() {
        parameters = best.parameters
        if best.hasLoss { lastLoss = best.loss }
        expAvg = [Scalar](repeating: 0, count: parameters.count)
        expAvgSq = [Scalar](repeating: 0, count: parameters.count)
        stepCount = 0
        nonFiniteRestarts += 1
        status = .nonFinite
    }
}
