import Foundation

/// The function an optimiser minimises: given the flat parameter vector, return the loss and its
/// gradient with respect to every coordinate (same length as `x`).
///
/// The loss is a `Double`, as in PyTorch where `torch.optim.LBFGS` reads `float(closure())`;
/// an objective computed in `Float` simply returns `Double(loss)`.
/// The closure may throw (for example to cancel an attack); the optimisers rethrow.
public typealias OptimizerObjective<Scalar: BinaryFloatingPoint> =
    (_ x: [Scalar]) throws -> (loss: Double, gradient: [Scalar])

/// Where an optimiser stands after its latest `step`.
public enum OptimizerStatus: String, Sendable, Codable, Equatable, CaseIterable {
    /// No step has been taken yet.
    case notStarted
    /// The latest step finished normally and the method has no stopping rule of its own (Adam).
    case running
    /// L-BFGS stopped its latest step on a tolerance (gradient, directional derivative, step size or
    /// loss change): further steps will barely move the parameters.
    case converged
    /// L-BFGS used up `maxIter` iterations or `maxEval` evaluations in its latest step.
    case maxIterations
    /// The objective returned a non-finite loss or gradient: the parameters were restored to the
    /// best iterate seen and the optimiser's memory was reset.
    case nonFinite
}

/// Why the latest L-BFGS `step` returned, in the order `torch.optim.LBFGS` checks them.
public enum LBFGSStopReason: String, Sendable, Codable, Equatable, CaseIterable {
    /// No step has been taken yet.
    case none
    /// `max |g| <= toleranceGrad` (checked at the start of a step and after each iteration).
    case gradientTolerance
    /// The directional derivative `g·d > -toleranceChange`: no descent direction.
    case directionalDerivative
    /// `n_iter == max_iter`.
    case maxIterations
    /// `current_evals >= max_eval`.
    case maxEvaluations
    /// `max |t d| <= toleranceChange`.
    case stepTolerance
    /// `|loss - prev_loss| < toleranceChange`.
    case lossChange
    /// The objective returned a non-finite loss or gradient.
    case nonFinite
    /// `maxNonFiniteRestarts` was exceeded: steps no longer evaluate the objective.
    case stopped

    /// The coarse status this reason maps to.
    public var status: OptimizerStatus {
        switch self {
        case .none: return .notStarted
        case .gradientTolerance, .directionalDerivative, .stepTolerance, .lossChange: return .converged
        case .maxIterations, .maxEvaluations: return .maxIterations
        case .nonFinite, .stopped: return .nonFinite
        }
    }
}

/// A summary shared by every optimiser in this folder.
public struct OptimizerReport: Sendable, Codable, Equatable {
    /// Iterations (parameter updates) performed since creation, over all steps.
    public var iterations: Int
    /// Objective evaluations since creation (torch's `state["func_evals"]` for L-BFGS).
    public var evaluations: Int
    /// The most recent finite loss returned by the objective (after a non-finite evaluation: the
    /// best loss, since the parameters were restored to the best iterate); `nil` before any.
    public var finalLoss: Double?
    /// The lowest finite loss seen; `nil` before any.
    public var bestLoss: Double?
    /// Status after the latest step.
    public var status: OptimizerStatus
    /// How many times a non-finite evaluation made the optimiser restore the best iterate.
    public var nonFiniteRestarts: Int

    public init(iterations: Int, evaluations: Int, finalLoss: Double?, bestLoss: Double?,
                status: OptimizerStatus, nonFiniteRestarts: Int) {
        self.iterations = iterations
        self.evaluations = evaluations
        self.finalLoss = finalLoss
        self.bestLoss = bestLoss
        self.status = status
        self.nonFiniteRestarts = nonFiniteRestarts
    }
}

/// The lowest-loss point at which the objective returned a finite loss and gradient.
struct BestIterate<Scalar: BinaryFloatingPoint> {
    private(set) var loss: Double = .infinity
    private(set) var parameters: [Scalar]

    init(parameters: [Scalar]) { self.parameters = parameters }

    var hasLoss: Bool { loss.isFinite }

    /// Records `x` if `loss` is finite and lower than the best so far (the caller checked the gradient).
    mutating func offer(loss: Double, at x: [Scalar]) {
        if loss.isFinite && loss < self.loss {
            self.loss = loss
            parameters = x
        }
    }
}

/// What the attacks need of an optimiser (L-BFGS and Adam both are one): a parameter vector it moves, one
/// `step` at a time, with its counts and whether it gave up (too many non-finite restarts). The attacks'
/// optimisation loop is written once against this protocol (`MatchingOptimisation.optimise`).
public protocol ParameterOptimizer: AnyObject {
    associatedtype Scalar: BinaryFloatingPoint
    var parameters: [Scalar] { get }
    var iterations: Int { get }
    var evaluations: Int { get }
    var isStopped: Bool { get }
    /// One step; returns the loss at the parameters the step started from.
    func step(_ objective: OptimizerObjective<Scalar>) throws -> Double
}

extension LBFGS: ParameterOptimizer {}
extension Adam: ParameterOptimizer {}
