import Foundation
import NN
import Tensor

/// A client's local computation, without a graph of the backward pass (`grad(of:wrt:createGraph: false)`):
/// gradients, per-example gradients, SGD steps and the FedAvg weight difference.
public enum LocalTraining {
    /// Gradients of the mean cross-entropy over the batch with respect to every parameter, with the
    /// buffers after the forward pass (updated running statistics in BN train mode).
    public static func gradient(model: Model, parameters: [Tensor], buffers: [Tensor], images x: Tensor,
                                labels: [Int], bn: BNMode) -> (loss: Float, grads: [Tensor], buffers: [Tensor]) {
        let leaves = parameters.map { $0.detached(requiresGrad: true) }
        let (logits, newBuffers) = model.forward(x, params: leaves, buffers: buffers, bn: bn)
        let loss = crossEntropy(logits, labels: labels)
        let grads = grad(of: loss, wrt: leaves)
        return (loss.scalar, grads, newBuffers.map { $0.isLeaf ? $0 : $0.detached() })
    }

    /// One gradient per example (each example in its own forward pass of batch 1), for DP-SGD's
    /// per-example clipping. Buffers are not changed. With batch-norm in train mode each example is
    /// normalised with its own statistics (per-example gradients of a BN batch are not defined; Opacus
    /// refuses BN models).
    public static func perExampleGradients(model: Model, state: ModelState, images x: Tensor, labels: [Int],
                                           bn: BNMode) -> [ModelUpdate] {
        let b = x.shape[0]
        let rest = x.shape.dropFirst().map { 0..<$0 }
        return (0..<b).map { i in
            let xi = x.narrowed([i..<(i + 1)] + rest)
            let g = gradient(model: model, parameters: state.parameters, buffers: state.buffers, images: xi,
                             labels: [labels[i]], bn: bn).grads
            return ModelUpdate(names: model.parameterNames, tensors: g)
        }
    }

    /// `w - lr * g` for every tensor (new leaf tensors).
    public static func step(_ parameters: [Tensor], _ grads: [Tensor], lr: Double) -> [Tensor] {
        let f = Float(lr)
        return zip(parameters, grads).map { w, g in
            let out = w.detached()
            out.withUnsafeMutableBufferPointer { o in
                g.withUnsafeBufferPointer { gp in for i in 0..<o.count { o[i] -= f * gp[i] } }
            }
            return out
        }
    }

    /// `a - b` for every tensor (new leaf tensors).
    public static func difference(_ a: [Tensor], _ b: [Tensor]) -> [Tensor] {
        zip(a, b).map { x, y in
            let out = x.detached()
            out.withUnsafeMutableBufferPointer { o in
                y.withUnsafeBufferPointer { yp in for i in 0..<o.count { o[i] -= yp[i] } }
            }
            return out
        }
    }

    /// Local SGD from `state`: one step per batch that `batches` yields (`batches(s)` for step s = 0, 1, ...
    /// until it returns nil). Returns the final state and the mean loss over the steps.
    public static func sgd(model: Model, from state: ModelState, lr: Double, bn: BNMode,
                           batches: (Int) -> (images: Tensor, labels: [Int])?) -> (state: ModelState, meanLoss: Double) {
        var params = state.parameters, buffers = state.buffers
        var total = 0.0, steps = 0
        while let (x, y) = batches(steps) {
            let r = gradient(model: model, parameters: params, buffers: buffers, images: x, labels: y, bn: bn)
            params = step(params, r.grads, lr: lr)
            buffers = r.buffers
            total += Double(r.loss)
            steps += 1
        }
        return (ModelState(parameters: params, buffers: buffers), steps == 0 ? .nan : total / Double(steps))
    }

    /// The update of `kind` computed on the whole batch: the gradient (FedSGD), or `w_0 - w_S` after S
    /// full-batch SGD steps (FedAvg). Returns the update, the loss at the server's weights, and the buffers
    /// after the local computation.
    public static func update(_ kind: UpdateKind, model: Model, state: ModelState, images x: Tensor, labels: [Int],
                              bn: BNMode) -> (update: ModelUpdate, loss: Float, buffers: [Tensor]) {
        switch kind {
        case .gradient:
            let r = gradient(model: model, parameters: state.parameters, buffers: state.buffers, images: x, labels: labels, bn: bn)
            return (ModelUpdate(names: model.parameterNames, tensors: r.grads), r.loss, r.buffers)
        case let .fedAvg(steps, lr):
            var first: Float = .nan
            var params = state.parameters, buffers = state.buffers
            for s in 0..<steps {
                let r = gradient(model: model, parameters: params, buffers: buffers, images: x, labels: labels, bn: bn)
                if s == 0 { first = r.loss }
                params = step(params, r.grads, lr: lr)
                buffers = r.buffers
            }
            return (ModelUpdate(names: model.parameterNames, tensors: difference(state.parameters, params)), first, buffers)
        }
    }
}
