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
public struct GradientMatching: @unchecked Sendable {
    public let model: Model
    public let bn: BNMode
    public let distance: MatchingDistance
    public let tvWeight: Float
    public let labels: LabelSource
    /// Weights the server sent (leaves that require grad, so their gradients can be taken with a graph).
    let params: [Tensor]
    let buffers: [Tensor]
    /// The intercepted update, one tensor per parameter.
    public let target: [Tensor]
    let targetNormSquared: Float

    public init(model: Model, state: ModelState, bn: BNMode, target: [Tensor], distance: MatchingDistance,
                tvWeight: Float = 0, labels: LabelSource) {
        precondition(target.count == model.parameters.count)
        self.model = model; self.bn = bn; self.distance = distance; self.tvWeight = tvWeight; self.labels = labels
        self.params = state.parameters.map { $0.detached(requiresGrad: true) }
        self.buffers = state.buffers
        self.target = target.map { $0.detached() }
        self.targetNormSquared = target.reduce(0) { $0 + dot($1, $1).scalar }
    }

    /// The dummy batch's update (gradients of its loss w.r.t. the parameters), as graph values.
    public func dummyUpdate(x: Tensor, logits: Tensor?) -> [Tensor] {
        let out = model.forward(x, params: params, buffers: buffers, bn: bn).logits
        let loss: Tensor
        switch labels {
        case .known(let y): loss = crossEntropy(out, labels: y)
        case .soft:
            guard let l = logits else { preconditionFailure("soft labels need dummy logits") }
            loss = crossEntropy(out, softTargets: l.softmax())
        }
        return grad(of: loss, wrt: params, createGraph: true)
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
            var ab: Tensor? = nil, aa: Tensor? = nil
            for (a, b) in zip(g, target) {
                let d = dot(a, b), n = dot(a, a)
                ab = ab.map { $0 + d } ?? d
                aa = aa.map { $0 + n } ?? n
            }
            let denom = (aa! * targetNormSquared).clamp(min: 1e-24).sqrt()
            total = 1 - ab! / denom
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
