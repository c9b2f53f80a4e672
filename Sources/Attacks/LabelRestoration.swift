import Foundation
import NN
import Tensor

/// Restores the labels of a whole batch from the last layer's gradient, before any image is reconstructed.
///
/// **iLRG** (Ma et al., ICLR 2023, "Instance-wise Batch Label Restoration via Gradients in Federated
/// Learning"; their code `methods.py`/`utils.py`). For a classifier z = W h + b with softmax cross-entropy
/// averaged over a batch of B, row c of the gradients is dW_c = (1/B) sum_b (p_bc - y_bc) h_b and
/// db_c = (1/B) sum_b (p_bc - y_bc). Then
/// 1. emb_c = dW_c / db_c is a weighted mean of the batch's embeddings (the mean embedding of class c's
///    images when c is in the batch and the model is untrained);
/// 2. q_c = softmax(W emb_c + b) estimates the softmax output of class c's images;
/// 3. with n_c images of class c, B db_i = sum_c n_c q_c[i] - n_i for every class i, and sum_c n_c = B:
///    K + 1 linear equations in the K counts, solved in least squares (their Moore-Penrose pseudoinverse;
///    here Householder QR in Double, the same solution for a system of full column rank);
/// 4. the counts are rounded; negative ones and ones above B become 0 (a class not in the batch), and the
///    total is brought to B by moving the counts whose rounding erred most (the paper's `mod_res`: their
///    code's branch for a total below B takes the wrong slice, `inds[:num_mod]` with num_mod < 0; here
///    the |num_mod| counts rounded down most are raised, as the paper describes).
/// Exact when the images of one class have the same softmax output (untrained models: > 99 % existence and
/// > 96 % count accuracy in the paper); on trained models the estimate of q_c degrades.
///
/// **LLG+** (Wainakh et al., PETS 2022): n_c ~ B (pbar_c - db_c) with pbar the model's mean softmax output on
/// random inputs, handed out greedily; the fallback when the classifier has no bias (then iLRG's ratio and
/// LLG's bias gradient do not exist and the most negative weight-row sums are used).
public enum LabelRestoration {
    /// The method that restores a batch's labels. `auto` is the rule every optimisation attack's label source
    /// follows (`LabelInference.infer`): iLRG on models without batch norm, LLG+ on models with it (it reads
    /// only the model, never the labels).
    public enum Method: String, Sendable, CaseIterable, Codable {
        case auto, ilrg, llg
    }

    /// The batch's labels as a sorted multiset (`batchSize` labels), by `method`.
    public static func restore(_ p: AttackProblem, method: Method = .ilrg, seed: UInt64 = 0x1abe1) -> [Int] {
        switch method {
        case .auto:
            return restore(p, method: p.model.hasBatchNorm ? .llg : .ilrg, seed: seed)
        case .ilrg:
            if let counts = ilrgCounts(p) { return labels(fromCounts: counts) }
            return llg(p, seed: seed)
        case .llg:
            return llg(p, seed: seed)
        }
    }

    /// Why iLRG cannot run on this model (nil when it can): it needs the classifier's bias.
    public static func ilrgInapplicability(_ model: Model) -> String? {
        guard let b = model.classifierBias, model.parameters[b].shape == [model.parameters[model.classifierWeight].shape[0]] else {
            return "the last fully connected layer of \(model.name) has no bias"
        }
        return nil
    }

    /// iLRG's class counts (K values summing to the batch size), or nil when the classifier has no bias.
    public static func ilrgCounts(_ p: AttackProblem) -> [Int]? {
        guard ilrgInapplicability(p.model) == nil, let bi = p.model.classifierBias else { return nil }
        let wi = p.model.classifierWeight
        let k = p.model.parameters[wi].shape[0], m = p.model.parameters[wi].shape[1]
        let dW = p.update[wi].scalars.map(Double.init), db = p.update[bi].scalars.map(Double.init)
        let W = p.state.parameters[wi].scalars.map(Double.init), b = p.state.parameters[bi].scalars.map(Double.init)
        let batch = Double(p.batchSize)
        // q[c] = softmax(W emb_c + b), emb_c = dW_c / db_c.
        var q = [[Double]](repeating: [], count: k)
        for c in 0..<k {
            let inv = db[c] != 0 ? 1 / db[c] : 0
            var z = b
            for i in 0..<k {
                var s = 0.0
                for j in 0..<m { s += W[i * m + j] * dW[c * m + j] }
                z[i] += s * inv
            }
            q[c] = softmax(z)
        }
        // Rows: sum_c n_c = B; then for each class i: sum_c n_c (q_c[i] - [c == i]) = B db_i.
        var a = [Double](repeating: 0, count: (k + 1) * k), v = [Double](repeating: 0, count: k + 1)
        for c in 0..<k { a[c] = 1 }
        v[0] = batch
        for i in 0..<k {
            for c in 0..<k { a[(i + 1) * k + c] = q[c][i] - (c == i ? 1 : 0) }
            v[i + 1] = batch * db[i]
        }
        let x = leastSquares(a, rows: k + 1, cols: k, v)
        return roundCounts(x, total: p.batchSize)
    }

    /// The paper's rounding: counts below 0 or above the batch become 0, then the total is brought to `total`
    /// by lowering the counts rounded up most (or raising those rounded down most).
    static func roundCounts(_ x: [Double], total: Int) -> [Int] {
        var n = x.map { v -> Int in
            guard v.isFinite, v > 0 else { return 0 }
            let r = Int(v.rounded())
            return r <= total ? r : 0
        }
        let err = zip(n, x).map { Double($0) - ($1.isFinite ? $1 : 0) }
        var excess = n.reduce(0, +) - total
        if excess > 0 {
            for c in err.indices.sorted(by: { err[$0] > err[$1] }) where excess > 0 && n[c] > 0 { n[c] -= 1; excess -= 1 }
        }
        while excess < 0 {
            for c in err.indices.sorted(by: { err[$0] < err[$1] }) where excess < 0 { n[c] += 1; excess += 1 }
        }
        return n
    }

    /// LLG+ (and the no-bias fallback), as `LabelInference` has always done at batch > 1.
    static func llg(_ p: AttackProblem, seed: UInt64) -> [Int] {
        let w = p.update[p.model.classifierWeight]
        guard let biasIndex = p.model.classifierBias, p.model.parameters[biasIndex].shape == [w.shape[0]] else {
            return LabelInference.fromRowSums(w, batchSize: p.batchSize)
        }
        let db = p.update[biasIndex].scalars.map(Double.init)
        let pbar = LabelInference.meanPrediction(p, seed: seed)
        var estimate = (0..<db.count).map { Double(p.batchSize) * (pbar[$0] - db[$0]) }
        var labels: [Int] = []
        for _ in 0..<p.batchSize {
            let c = estimate.enumerated().max { $0.element < $1.element }!.offset
            labels.append(c)
            estimate[c] -= 1
        }
        return labels.sorted()
    }

    /// Counts per class -> the sorted multiset of labels.
    public static func labels(fromCounts counts: [Int]) -> [Int] {
        counts.enumerated().flatMap { Array(repeating: $0.offset, count: $0.element) }
    }

    static func softmax(_ z: [Double]) -> [Double] {
        let top = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - top) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// min |A x - v| for a rows x cols matrix (row-major, rows >= cols) by Householder QR in Double. A column
    /// whose pivot is negligible (rank deficiency) gets 0, so the solution stays finite.
    static func leastSquares(_ aIn: [Double], rows: Int, cols: Int, _ vIn: [Double]) -> [Double] {
        var a = aIn, v = vIn
        var diag = [Double](repeating: 0, count: cols)
        let scale = aIn.reduce(0) { Swift.max($0, Swift.abs($1)) }
        for j in 0..<cols {
            var norm = 0.0
            for i in j..<rows { norm += a[i * cols + j] * a[i * cols + j] }
            norm = norm.squareRoot()
            if norm <= 1e-12 * Swift.max(scale, 1e-300) { diag[j] = 0; continue }
            let alpha = a[j * cols + j] > 0 ? -norm : norm
            // Householder vector u = x - alpha e1, stored in column j from row j.
            a[j * cols + j] -= alpha
            var uu = 0.0
            for i in j..<rows { uu += a[i * cols + j] * a[i * cols + j] }
            diag[j] = alpha
            guard uu > 0 else { continue }
            for c in (j + 1)..<Swift.max(j + 1, cols) {
                var d = 0.0
                for i in j..<rows { d += a[i * cols + j] * a[i * cols + c] }
                let f = 2 * d / uu
                for i in j..<rows { a[i * cols + c] -= f * a[i * cols + j] }
            }
            var d = 0.0
            for i in j..<rows { d += a[i * cols + j] * v[i] }
            let f = 2 * d / uu
            for i in j..<rows { v[i] -= f * a[i * cols + j] }
        }
        var x = [Double](repeating: 0, count: cols)
        for j in stride(from: cols - 1, through: 0, by: -1) {
            guard diag[j] != 0 else { x[j] = 0; continue }
            var s = v[j]
            for c in (j + 1)..<Swift.max(j + 1, cols) { s -= a[j * cols + c] * x[c] }
            x[j] = s / diag[j]
        }
        return x
    }

    /// How well restored labels match the true ones, as iLRG reports it: label-existence accuracy (classes
    /// whose presence in the batch was told right, over all K classes), label-count accuracy (classes whose
    /// count is exactly right, over all K) and the fraction of the batch's labels recovered as a multiset.
    public struct Accuracy: Sendable, Codable, Equatable {
        public let existence: Double
        public let count: Double
        public let multiset: Double

        public init(restored: [Int], truth: [Int], classes: Int) {
            var r = [Int](repeating: 0, count: classes), t = r
            for l in restored where l >= 0 && l < classes { r[l] += 1 }
            for l in truth where l >= 0 && l < classes { t[l] += 1 }
            existence = Double((0..<classes).filter { (r[$0] > 0) == (t[$0] > 0) }.count) / Double(max(classes, 1))
            count = Double((0..<classes).filter { r[$0] == t[$0] }.count) / Double(max(classes, 1))
            multiset = Double((0..<classes).reduce(0) { $0 + min(r[$1], t[$1]) }) / Double(max(truth.count, 1))
        }
    }
}
