import Foundation
import NN
import Tensor

/// The optimiser an optimisation attack runs (one shared loop each, `MatchingOptimisation`).
enum MatchingOptimiser {
    /// torch.optim.LBFGS semantics (DLG, iDLG, CPL).
    case lbfgs
    /// Adam, optionally on signed gradients, boxed to [0, 1] after each step, MultiStepLR (Inverting Gradients).
    case adam
}

/// An attack that optimises a dummy batch against the intercepted update, from one or more starts: it
/// writes one start (`runStart`), the restart rule and its description are shared.
protocol OptimisationAttack: AttackMethod {
    static var optimiser: MatchingOptimiser { get }
    /// One start: returns the optimisation's outcome and the labels the attack settled on.
    static func runStart(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator,
                         _ progress: AttackProgress?) throws -> (MatchingOptimisation.Outcome, [Int])
}

extension OptimisationAttack {
    static func run(_ config: AttackConfig, on problem: AttackProblem, seed: UInt64, start: AttackStart?,
                    progress: AttackProgress?) throws -> AttackResult {
        let t0 = Date()
        var rng = SeededGenerator(seed: seed)
        var best: (MatchingOptimisation.Outcome, Double, [Int])? = nil
        var iterations = 0, evaluations = 0
        for r in 0..<max(1, config.restarts) {
            let (outcome, labels) = try runStart(problem, config, r == 0 ? start : nil, &rng, progress)
            iterations += outcome.iterations
            evaluations += outcome.evaluations
            // Restarts are ranked by the attacker's own objective, never by the original images.
            let previous = best?.0.loss
            let better = best.map { b in outcome.loss.isFinite && (!b.0.loss.isFinite || outcome.loss < b.0.loss) } ?? true
            if better { best = (outcome, outcome.relativeLoss, labels) }
            // Another start only while no start is good enough (and, on-stall, only if this one stalled).
            if let enough = config.satisfiedLoss, let b = best, b.1 <= enough { break }
            if config.restartPolicy == .onStall && !outcome.stalled { break }
            // unsatisfied: two starts that end within 10% of each other found the loss's floor (the update's
            // noise, not the draw), which further starts would only find again.
            if config.restartPolicy == .unsatisfied, let p = previous, p.isFinite, outcome.loss.isFinite,
               Swift.abs(outcome.loss - p) <= 0.1 * p { break }
        }
        let (o, _, labels) = best!
        return AttackResult(kind: config.kind, applicable: true, note: nil,
                            images: GradMode.withoutGrad { o.x.detached().clamp(min: 0, max: 1) },
                            labels: labels, iterations: iterations, evaluations: evaluations, finalLoss: o.loss,
                            seconds: Date().timeIntervalSince(t0), lossTrace: o.trace)
    }

    static func describe(_ c: AttackConfig) -> String {
        var how: String
        switch optimiser {
        case .lbfgs:
            how = "L-BFGS, \(c.iterations) steps of up to \(c.maxIterPerStep) iterations, learning rate \(g(c.learningRate)), "
            how += "\(c.initialization.rawValue) start"
            if c.tvWeight > 0 { how += ", total variation \(g(c.tvWeight))" }
        case .adam:
            how = "Adam\(c.signedGradients ? " on signed gradients" : ""), \(c.iterations) iterations, learning rate \(g(c.learningRate)), "
            how += "cosine gradient distance with total variation \(g(c.tvWeight)), \(c.initialization.rawValue) start"
        }
        how += ", " + RestartRule.inWords(c)
        if let s = c.earlyStopLoss { how += ", early stop below loss \(g(s))" }
        return how
    }

    static func summary(_ c: AttackConfig) -> String {
        switch optimiser {
        case .lbfgs:
            return "\(c.iterations) L-BFGS steps, \(c.initialization.rawValue) start\(c.restarts > 1 ? ", \(c.restarts) restarts" : "")"
        case .adam:
            return "\(c.iterations) Adam iterations, TV \(c.tvWeight), \(c.restarts) start\(c.restarts == 1 ? "" : "s")"
        }
    }

    static func g(_ x: Double) -> String { String(format: "%g", x) }
}

/// The restart rule in words (one place: the report's method notes and `medpfl show` read it).
public enum RestartRule {
    /// How many starts an attack makes and when, e.g. "up to 4 starts (another while no start's relative
    /// matching loss is at most 1e-06 and no two starts ended within 10% of each other); the start with the
    /// lowest gradient loss is kept".
    public static func inWords(_ c: AttackConfig) -> String {
        if c.restarts <= 1 { return "1 start" }
        let policy = c.restartPolicy ?? .always
        let kept = "the start with the lowest gradient loss is kept"
        let enough = c.satisfiedLoss.map { "relative matching loss is at most \(String(format: "%g", $0))" }
        switch policy {
        case .always:
            return "\(c.restarts) starts\(enough.map { " (fewer once one's \($0))" } ?? ""); \(kept)"
        case .unsatisfied:
            return "up to \(c.restarts) starts (another while no start's \(enough ?? "loss is satisfactory") and no two "
                + "starts ended within 10% of each other); \(kept)"
        case .onStall:
            return "up to \(c.restarts) starts (another only after a start that stalled\(enough.map { " and whose \($0) is not reached" } ?? "")); \(kept)"
        }
    }
}
