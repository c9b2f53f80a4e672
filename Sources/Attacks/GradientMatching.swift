import Federated
import Foundation
import NN
import Tensor

/// How the dummy update is compared with the intercepted one.
public enum MatchingDistance: String, Sendable, Codable {
    /// Sum over parameter tensors of ||g' - g||^2 (DLG, iDLG, CPL).
    case squaredL2 = "l2"
    /// 1 - <g', g> / (|g'| |g|) with one global cosine over all tensors (Inverting Gradients).
    case cosine
}

/// Where the dummy labels come from.
public enum LabelSource: Sendable {
    /// Labels fixed in advance (inferred from the update, or known).
    case known([Int])
    /// Optimised soft labels: cross-entropy against softmax(dummy logits), as DLG.
    case soft
}

/// The shared core of every optimisation attack: the loss between the update that a dummy batch
/// produces and the intercepted update, and its gradient with respect to the dummy batch (a double
/// backward through the model).
///
/// For a FedAvg update (`UpdateKind.fedAvg(steps: S, lr:)`) the dummy batch's update is simulated the way
/// the client computed it (Geiping et al. 2020, section 6): S SGD steps on the whole dummy batch inside the
/// differentiable graph, each step's gradient taken with `createGraph: true`
/// (params_{s+1} = params_s - lr g_s), and the weight difference w_0 - w_S = lr (g_0 + ... + g_{S-1}) is
/// matched. Both sides are matched in gradient units (divided by lr, i.e. g_0 + ... + g_{S-1}), so the
/// loss has the scale of a FedSGD attack and a one-step FedAvg update is attacked exactly like a gradient.
/// When the update averages several clients (secure aggregation), the dummy batch is split into
/// that many consecutive groups, each simulated as one client, and their updates are averaged (for a
/// gradient without train-mode batch-norm that equals the whole batch's gradient, which is used instead).
/// `@unchecked Sendable`: safe because its stored properties are `let`s: the model, read-only tensors (see
/// `Tensor`) and values; each evaluation builds its own graph on the calling thread.
public struct GradientMatching: @unchecked Sendable {
    public let model: Model
    public let bn: BNMode
    public let distance: MatchingDistance
    public let tvWeight: Float
    public let labels: LabelSource
    /// What the intercepted update is (gradient or FedAvg weight difference).
    public let kind: UpdateKind
    /// How many clients' equal batches the update averages.
    public let clients: Int
    /// Weights the server sent (leaves that require grad, so their gradients can be taken with a graph).
    let params: [Tensor]
    let buffers: [Tensor]
    /// The intercepted update, one tensor per parameter, in gradient units (a FedAvg difference divided by lr).
    public let target: [Tensor]
    let targetNormSquared: Float

    public init(model: Model, state: ModelState, bn: BNMode, target: [Tensor], distance: MatchingDistance,
                tvWeight: Float = 0, labels: LabelSource, kind: UpdateKind = .gradient, clients: Int = 1) {
        precondition(target.count == model.parameters.count)
        precondition(clients >= 1)
        self.model = model; self.bn = bn; self.distance = distance; self.tvWeight = tvWeight; self.labels = labels
        self.kind = kind; self.clients = clients
        self.params = state.parameters.map { $0.detached(requiresGrad: true) }
        self.buffers = state.buffers
        var unit: Float = 1
        if case let .fedAvg(_, lr) = kind { unit = Float(1 / lr) }
        self.target = target.map { t in unit == 1 ? t.detached() : GradMode.withoutGrad { (t * unit).detached() } }
        self.targetNormSquared = self.target.reduce(0) { $0 + dot($1, $1).scalar }
    }

    /// A matcher for an intercepted update, taking its kind and client count from it.
    public init(model: Model, state: ModelState, bn: BNMode, target: InterceptedUpdate, distance: MatchingDistance,
                tvWeight: Float = 0, labels: LabelSource) {
        self.init(model: model, state: state, bn: bn, target: target.tensors, distance: distance, tvWeight: tvWeight,
                  labels: labels, kind: target.kind, clients: target.clients)
    }

    /// The dummy batch's update (of the intercepted kind, averaged over clients, in gradient units like
    /// `target`), as graph values.
    public func dummyUpdate(x: Tensor, logits: Tensor?) -> [Tensor] {
        let grouped = clients > 1 && (kind != .gradient || (bn == .train && model.hasBatchNorm))
        guard grouped else { return clientUpdate(x: x, logits: logits, labels: labels) }
        let per = x.shape[0] / clients
        var total: [Tensor]? = nil
        for c in 0..<clients {
            let r = (c * per)..<((c + 1) * per)
            let xc = x.narrowed([r] + x.shape.dropFirst().map { 0..<$0 })
            let lc = logits.map { $0.narrowed([r, 0..<$0.shape[1]]) }
            var yc = labels
            if case let .known(y) = labels { yc = .known(Array(y[r])) }
            let u = clientUpdate(x: xc, logits: lc, labels: yc)
            total = total.map { zip($0, u).map { $0 + $1 } } ?? u
        }
        return total!.map { $0 * (1 / Float(clients)) }
    }

    /// One client's update on its batch in gradient units: the gradient, or the sum of the S local-step
    /// gradients (the weight difference divided by lr).
    func clientUpdate(x: Tensor, logits: Tensor?, labels: LabelSource) -> [Tensor] {
        switch kind {
        case .gradient:
            return gradient(x: x, logits: logits, labels: labels, at: params)
        case let .fedAvg(steps, lr):
            var p = params
            var sum: [Tensor]? = nil
            for s in 0..<steps {
                let g = gradient(x: x, logits: logits, labels: labels, at: p)
                sum = sum.map { zip($0, g).map { $0 + $1 } } ?? g
                if s < steps - 1 { p = zip(p, g).map { $0 - $1 * Float(lr) } }
            }
            return sum!
        }
    }

    /// Gradients of the dummy batch's loss with respect to `p` (the weights at some local step), as graph values.
    func gradient(x: Tensor, logits: Tensor?, labels: LabelSource, at p: [Tensor]) -> [Tensor] {
        let out = model.forward(x, params: p, buffers: buffers, bn: bn).logits
        let loss: Tensor
        switch labels {
        case .known(let y): loss = crossEntropy(out, labels: y)
        case .soft:
            guard let l = logits else { preconditionFailure("soft labels need dummy logits") }
            loss = crossEntropy(out, softTargets: l.softmax())
        }
        return grad(of: loss, wrt: p, createGraph: true)
    }

    /// The matching loss as a graph value.
    public func loss(x: Tensor, logits: Tensor?) -> Tensor {
        let g = dummyUpdate(x: x, logits: logits)
        var total: Tensor
        switch distance {
        case .squaredL2:
            var acc: Tensor? = nil
            for (a, b) in zip(g, target) {
                let s = squaredDistance(a, b)
                acc = acc.map { $0 + s } ?? s
            }
            total = acc!
        case .cosine:
            // [a·b, a·a] summed over the parameter tensors, each pair in one pass (`dotAndSquaredNorm`).
            var sums: Tensor? = nil
            for (a, b) in zip(g, target) {
                let s = dotAndSquaredNorm(a, b)
                sums = sums.map { $0 + s } ?? s
            }
            let ab = sums!.slice(axis: 0, 0..<1).reshaped([]), aa = sums!.slice(axis: 0, 1..<2).reshaped([])
            let denom = (aa * targetNormSquared).clamp(min: 1e-24).sqrt()
            total = 1 - ab / denom
        }
        if tvWeight != 0 { total = total + totalVariation(x) * tvWeight }
        return total
    }

    /// Loss value and its gradients with respect to the dummy images and (for soft labels) logits.
    public func evaluate(x: Tensor, logits: Tensor?) -> (loss: Float, gradX: Tensor, gradLogits: Tensor?) {
        let xv = x.isLeaf && x.requiresGrad ? x : x.detached(requiresGrad: true)
        let lv = logits.map { $0.isLeaf && $0.requiresGrad ? $0 : $0.detached(requiresGrad: true) }
        let l = loss(x: xv, logits: lv)
        let gs = grad(of: l, wrt: lv.map { [xv, $0] } ?? [xv])
        return (l.scalar, gs[0], lv == nil ? nil : gs[1])
    }
}
