import Foundation

/// Settings of `LBFGS`, named after `torch.optim.LBFGS`'s arguments and with the same defaults.
public struct LBFGSOptions: Sendable, Equatable, Codable {
    /// Line searches `LBFGS` can run (torch's `line_search_fn`).
    public enum LineSearch: String, Sendable, Equatable, Codable {
        /// torch's `"strong_wolfe"`: bracketing then cubic-interpolation zoom until the strong Wolfe
        /// conditions hold (c1 = 1e-4, c2 = 0.9, at most 25 evaluations, stopped early when the
        /// bracket times `max |d|` is below `toleranceChange`).
        case strongWolfe
    }

    /// Step length (torch `lr`, default 1). Without line search every step moves by `lr * d`
    /// (the very first by `min(1, 1/|g|_1) * lr * d`); with strong Wolfe it is the initial trial step.
    public var lr: Double
    /// Maximal iterations per `step` call (torch `max_iter`, default 20).
    public var maxIter: Int
    /// Maximal objective evaluations per `step` call (torch `max_eval`, default `maxIter * 5 / 4`,
    /// integer division, resolved when the options are made, as torch does in its constructor).
    public var maxEval: Int
    /// Stop when `max |g| <= toleranceGrad` (torch `tolerance_grad`, default 1e-7).
    public var toleranceGrad: Double
    /// Stop when the directional derivative, the step `max |t d|` or the loss change falls below
    /// this (torch `tolerance_change`, default 1e-9); also the line search's bracket tolerance.
    public var toleranceChange: Double
    /// Curvature pairs kept (torch `history_size`, default 100). Must be at least 1.
    public var historySize: Int
    /// Line search (torch `line_search_fn`, default `nil`: fixed step `lr`).
    public var lineSearchFn: LineSearch?
    /// Not in torch: how many times a non-finite loss or gradient may restore the best iterate and
    /// restart from steepest descent before `step` stops evaluating (default 3).
    public var maxNonFiniteRestarts: Int

    public init(lr: Double = 1, maxIter: Int = 20, maxEval: Int? = nil, toleranceGrad: Double = 1e-7,
                toleranceChange: Double = 1e-9, historySize: Int = 100, lineSearchFn: LineSearch? = nil,
                maxNonFiniteRestarts: Int = 3) {
        precondition(historySize >= 1, "LBFGS: historySize must be at least 1")
        self.lr = lr
        self.maxIter = maxIter
        self.maxEval = maxEval ?? maxIter * 5 / 4
        self.toleranceGrad = toleranceGrad
        self.toleranceChange = toleranceChange
        self.historySize = historySize
        self.lineSearchFn = lineSearchFn
        self.maxNonFiniteRestarts = maxNonFiniteRestarts
    }
}
