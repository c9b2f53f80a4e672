import Foundation
import NN
import Tensor

/// One client's update as it leaves the client: computed on the client's batch, then defended.
public struct ClientUpdate: Sendable {
    /// The defended update (what the network carries, before any secure-aggregation masking).
    public var update: ModelUpdate
    /// What the defence did, measured against the undefended update.
    public var effect: DefenceEffect
    /// Cross-entropy at the server's weights on the client's batch.
    public var loss: Float
    /// Buffers after the local computation (batch-norm running statistics).
    public var buffers: [Tensor]

    /// Computes the update of `kind` on `images` and applies `defence` to it, drawing the defence's
    /// randomness from `rng`.
    ///
    /// DP (`dp:`) on a FedSGD gradient is DP-SGD: per-example gradients, each clipped, summed, noised and
    /// divided by the batch size (`DefenceSpec.applyDP(perExample:rng:)`). DP on a FedAvg weight difference
    /// is client-level DP (DP-FedAvg): the whole difference is clipped to C and N(0, (sigma C)^2) noise is
    /// added (`DefenceSpec.apply(_:rng:)`). Every other defence acts on the update itself. Secure
    /// aggregation is not applied here (see `SecureAggregation`).
    public static func compute(_ kind: UpdateKind, model: Model, state: ModelState, images x: Tensor, labels: [Int],
                               bn: BNMode, defence: DefenceSpec, rng: inout SeededGenerator) -> ClientUpdate {
        let plain = LocalTraining.update(kind, model: model, state: state, images: x, labels: labels, bn: bn)
        let outcome = defend(plain.update, isGradient: kind == .gradient, defence: defence, rng: &rng) {
            LocalTraining.perExampleGradients(model: model, state: state, images: x, labels: labels, bn: bn)
        }
        return ClientUpdate(update: outcome.update, effect: outcome.effect, loss: plain.loss, buffers: plain.buffers)
    }

    /// Applies `defence` to a client's plain update: DP-SGD on per-example gradients (computed by
    /// `perExample` only when needed) for a gradient with a `dp` spec, otherwise `DefenceSpec.apply`.
    public static func defend(_ update: ModelUpdate, isGradient: Bool, defence: DefenceSpec, rng: inout SeededGenerator,
                              perExample: () -> [ModelUpdate]) -> DefenceOutcome {
        if defence.needsPerExampleGradients && isGradient {
            return defence.applyDP(perExample: perExample(), rng: &rng)
        }
        return defence.apply(update, rng: &rng)
    }
}
