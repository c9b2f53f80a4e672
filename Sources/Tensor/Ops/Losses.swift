import Foundation

extension Tensor {
    /// log-softmax over the last axis. Backward: g - softmax * sum(g), with softmax = exp(out), so it is
    /// differentiable again.
    public func logSoftmax() -> Tensor {
        let c = shape.last!, rows = count / c
        let out = Tensor(uninitializedShape: shape)
        let px = storage, po = out.storage
        for r in 0..<rows {
            let x = px + r * c, o = po + r * c
            var m = -Float.infinity
            for j in 0..<c { m = max(m, x[j]) }
            var s: Double = 0
            for j in 0..<c { s += Double(Foundation.exp(x[j] - m)) }
            let lse = m + Float(Foundation.log(s))
            for j in 0..<c { o[j] = x[j] - lse }
        }
        return out.recording("logSoftmax", [self]) { g, out, _ in
            [g - out.exp() * g.sum(axes: [-1], keepDims: true)]
        }
    }

    public func softmax() -> Tensor { logSoftmax().exp() }
}

/// Mean over the batch of -log softmax(logits)[b, label_b] (PyTorch `F.cross_entropy`).
public func crossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count, "cross-entropy: logits \(logits.shape), \(labels.count) labels")
    let c = logits.shape[1]
    for l in labels { precondition(l >= 0 && l < c, "label \(l) outside 0..<\(c)") }
    let idx = labels.enumerated().map { Int32($0.offset * c + $0.element) }
    let picked = logits.logSoftmax().gather(flat: idx, shape: [labels.count])
    return picked.sum() * (-1 / Float(labels.count))
}

/// Mean over the batch of sum_c -targets[b,c] * log softmax(logits)[b,c] (soft labels, as DLG).
public func crossEntropy(_ logits: Tensor, softTargets t: Tensor) -> Tensor {
    precondition(logits.shape == t.shape && logits.rank == 2)
    return (t * logits.logSoftmax()).sum() * (-1 / Float(logits.shape[0]))
}

/// Anisotropic total variation over the last two axes: mean|dx| + mean|dy|.
public func totalVariation(_ x: Tensor) -> Tensor {
    let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
    let dx = x.slice(axis: -1, 1..<w) - x.slice(axis: -1, 0..<(w - 1))
    let dy = x.slice(axis: -2, 1..<h) - x.slice(axis: -2, 0..<(h - 1))
    return dx.abs().mean() + dy.abs().mean()
}

/// <a, b> / (|a| |b|) over all elements of the two lists of tensors together (one global cosine).
public func cosineSimilarity(_ a: [Tensor], _ b: [Tensor], eps: Float = 1e-12) -> Tensor {
    precondition(a.count == b.count)
    var ab: Tensor? = nil, aa: Tensor? = nil, bb: Tensor? = nil
    for (x, y) in zip(a, b) {
        let d = dot(x, y), nx = dot(x, x), ny = dot(y, y)
        ab = ab.map { $0 + d } ?? d
        aa = aa.map { $0 + nx } ?? nx
        bb = bb.map { $0 + ny } ?? ny
    }
    return ab! / ((aa! * bb!).clamp(min: eps * eps).sqrt())
}

/// Cosine similarity of two same-shaped tensors over the last axis (PyTorch `F.cosine_similarity`, dim=-1).
public func cosineSimilarity(_ a: Tensor, _ b: Tensor, eps: Float = 1e-8) -> Tensor {
    let ab = (a * b).sum(axes: [-1])
    let na = (a * a).sum(axes: [-1]).sqrt().clamp(min: eps)
    let nb = (b * b).sum(axes: [-1]).sqrt().clamp(min: eps)
    return ab / (na * nb)
}

/// Batch normalisation over NCHW (or NC) inputs.
///
/// Train mode uses the batch statistics (biased variance) and returns the updated running statistics
/// (momentum, unbiased variance, as PyTorch); eval mode uses the running statistics. Written with the
/// per-channel differentiable ops, so both modes have exact derivatives to every order.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> (Tensor, newMean: Tensor?, newVar: Tensor?) {
    let c = x.shape[1]
    if training {
        let n = x.count / c
        precondition(n > 1, "batch-norm in train mode needs more than one value per channel, got input \(x.shape)")
        // One pass per step, from the per-channel ops (ChannelOps.swift), whose backward rules are each other:
        // the same function as the broadcasting formula, with half the passes and nodes at every order.
        let inv = 1 / Float(n)
        let mean = x.channelSum() * inv
        let xc = x.channelAffine(scale: nil, shift: -mean)
        let varB = xc.channelSquaredNorm() * inv
        let rstd = (varB + eps).pow(-0.5)
        let y = xc.channelAffine(scale: weight.map { $0 * rstd } ?? rstd, shift: bias)
        let (nm, nv) = GradMode.withoutGrad { () -> (Tensor, Tensor) in
            let m = mean.detached(), v = varB.detached() * (Float(n) / Float(n - 1))
            return (runningMean * (1 - momentum) + m * momentum, runningVar * (1 - momentum) + v * momentum)
        }
        return (y, nm, nv)
    } else {
        var scale = (runningVar + eps).pow(-0.5)
        if let w = weight { scale = scale * w }
        var shift = -(runningMean * scale)
        if let b = bias { shift = shift + b }
        return (x.channelAffine(scale: scale, shift: shift), nil, nil)
    }
}
