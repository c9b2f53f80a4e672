import Foundation
import NN
import Tensor

/// Runs one attack on one intercepted update.
public enum Attack {
    public static func run(_ config: AttackConfig, on problem: AttackProblem, seed: UInt64,
                           progress: AttackProgress? = nil) throws -> AttackResult {
        let t0 = Date()
        var rng = SeededGenerator(seed: seed)
        var best: (MatchingOptimisation.Outcome, Double, [Int])? = nil
        var iterations = 0, evaluations = 0
        if config.kind == .analytic {
            return try AnalyticAttack.run(problem, started: t0)
        }
        for _ in 0..<max(1, config.restarts) {
            let (outcome, labels): (MatchingOptimisation.Outcome, [Int])
            switch config.kind {
            case .dlg: (outcome, labels) = try DLG.run(problem, config, &rng, progress)
            case .idlg: (outcome, labels) = try IDLG.run(problem, config, &rng, progress)
            case .cpl: (outcome, labels) = try CPL.run(problem, config, &rng, progress)
            case .gradinv: (outcome, labels) = try GradInv.run(problem, config, &rng, progress)
            case .analytic: fatalError("handled above")
            }
            iterations += outcome.iterations
            evaluations += outcome.evaluations
            // Restarts are ranked by the attacker's own objective, never by the original images.
            let better = best.map { b in outcome.loss.isFinite && (!b.0.loss.isFinite || outcome.loss < b.0.loss) } ?? true
            if better { best = (outcome, outcome.relativeLoss, labels) }
            // Another start only if this one is not good enough (and, on-stall, only if it stalled).
            if let enough = config.satisfiedLoss, let b = best, b.1 <= enough { break }
            if config.restartPolicy == .onStall && !outcome.stalled { break }
        }
        let (o, _, labels) = best!
        return AttackResult(kind: config.kind, applicable: true, note: nil, images: GradMode.withoutGrad { o.x.detached().clamp(min: 0, max: 1) },
                            labels: labels, iterations: iterations, evaluations: evaluations, finalLoss: o.loss,
                            seconds: Date().timeIntervalSince(t0))
    }

    /// The label the iDLG rule reads from an update.
    public static func inferLabels(_ problem: AttackProblem) -> [Int] {
        LabelInference.infer(problem)
    }
}
