import Foundation
import NN
import Tensor

/// Runs one attack on one intercepted update.
public enum Attack {
    /// - Parameters: `start`, when given, replaces the first start's random dummy batch (later restarts draw
    ///   their own from `seed`), e.g. to continue from, or reproduce, another implementation's run.
    public static func run(_ config: AttackConfig, on problem: AttackProblem, seed: UInt64, start: AttackStart? = nil,
                           progress: AttackProgress? = nil) throws -> AttackResult {
        let method = config.kind.method
        if let s = start { try s.check(for: problem, kind: config.kind) }
        return try method.run(config, on: problem, seed: seed, start: start, progress: progress)
    }

    /// The label the iDLG rule reads from an update.
    public static func inferLabels(_ problem: AttackProblem) -> [Int] {
        LabelInference.infer(problem)
    }
}

/// A given dummy batch to start from instead of a random draw: images (B, C, H, W) and, for DLG, the
/// dummy label logits (B, classes).
/// `@unchecked Sendable`: safe because its tensors are read-only once shared (see `Tensor`).
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
        if kind.method.optimisesLabels {
            guard let l = logits else { throw AttackStartError("a \(kind.method.displayName) start needs dummy label logits") }
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
