import Foundation
import NN
import Tensor

/// Runs one attack on one intercepted update.
public enum Attack {
    /// - Parameters: `start`, when given, replaces the first start's random dummy batch (later restarts draw
    ///   their own from `seed`), e.g. to continue from, or reproduce, another implementation's run.
    public static func run(_ config: AttackConfig, on problem: AttackProblem, seed: UInt64, start: AttackStart? = nil,
                           progress: AttackProgress? = nil) throws -> AttackResult {
        let t0 = Date()
        var rng = SeededGenerator(seed: seed)
        var best: (MatchingOptimisation.Outcome, Double, [Int])? = nil
        var iterations = 0, evaluations = 0
        if config.kind == .analytic {
            return try AnalyticAttack.run(problem, started: t0)
        }
        if let s = start { try s.check(for: problem, kind: config.kind) }
        for r in 0..<max(1, config.restarts) {
            let (outcome, labels): (MatchingOptimisation.Outcome, [Int])
            let s = r == 0 ? start : nil
            switch config.kind {
            case .dlg: (outcome, labels) = try DLG.run(problem, config, s, &rng, progress)
            case .idlg: (outcome, labels) = try IDLG.run(problem, config, s, &rng, progress)
            case .cpl: (outcome, labels) = try CPL.run(problem, config, s, &rng, progress)
            case .gradinv: (outcome, labels) = try GradInv.run(problem, config, s, &rng, progress)
            case .analytic: fatalError("handled above")
            }
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
        return AttackResult(kind: config.kind, applicable: true, note: nil, images: GradMode.withoutGrad { o.x.detached().clamp(min: 0, max: 1) },
                            labels: labels, iterations: iterations, evaluations: evaluations, finalLoss: o.loss,
                            seconds: Date().timeIntervalSince(t0))
    }

    /// The label the iDLG rule reads from an update.
    public static func inferLabels(_ problem: AttackProblem) -> [Int] {
        LabelInference.infer(problem)
    }
}

/// A given dummy batch to start from instead of a random draw: images (B, C, H, W) and, for DLG, the
/// dummy label logits (B, classes).
public struct AttackStart: @unchecked Sendable {
    public let images: Tensor
    public let logits: Tensor?

    public init(images: Tensor, logits: Tensor? = nil) {
        self.images = images; self.logits = logits
    }

    /// Throws `AttackStartError` when the shapes do not fit the problem (or a DLG start lacks logits).
    public func check(for p: AttackProblem, kind: AttackKind) throws {
        guard images.shape == p.imageShape else {
            throw AttackStartError("start images have shape \(images.shape), the attack needs \(p.imageShape)")
        }
        if kind == .dlg {
            guard let l = logits else { throw AttackStartError("a DLG start needs dummy label logits") }
            let want = [p.batchSize, p.model.classes]
            guard l.shape == want else { throw AttackStartError("start logits have shape \(l.shape), the attack needs \(want)") }
        }
    }
}

/// A start that does not fit the attacked problem.
public struct AttackStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
