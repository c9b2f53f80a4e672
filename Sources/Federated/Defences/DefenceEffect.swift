import Foundation
import Tensor

/// What a defence did to one update, measured against the undefended update u.
///
/// SNR values are ||u||_2 / ||u - defended||_2: infinity when nothing changed, 0 when u is zero but the
/// defended update is not. Codable; JSON needs a non-conforming-float strategy for infinite SNRs
/// (`JSONEncoder.nonConformingFloatEncodingStrategy`).
public struct DefenceEffect: Sendable, Codable, Equatable {
    /// SNR of one tensor.
    public struct TensorSNR: Sendable, Codable, Equatable {
        public var name: String
        public var snr: Double
        public init(name: String, snr: Double) { self.name = name; self.snr = snr }
    }

    /// Realised SNR over all entries together.
    public var snr: Double
    /// Realised SNR per tensor, in update order.
    public var perTensorSNR: [TensorSNR]
    /// Fraction of entries whose value differs from u.
    public var fractionChanged: Double
    /// Epsilon of the DP guarantee (RDP accountant), nil when the defence is not DP.
    public var epsilon: Double?
    /// The delta that goes with `epsilon`.
    public var delta: Double?
    /// Standard deviation per entry of the noise in the defended update (Laplace: sqrt(2) b; Gaussian:
    /// sigma; DP-SGD: sigma C / batch size), nil when no noise was added.
    public var noiseStd: Double?
    /// Human-readable description of what was applied, with realised scales, e.g. "Laplace b=0.01 (level 100)".
    public var label: String

    public init(snr: Double, perTensorSNR: [TensorSNR], fractionChanged: Double, epsilon: Double?,
                delta: Double?, noiseStd: Double?, label: String) {
        self.snr = snr
        self.perTensorSNR = perTensorSNR
        self.fractionChanged = fractionChanged
        self.epsilon = epsilon
        self.delta = delta
        self.noiseStd = noiseStd
        self.label = label
    }

    /// ||signal|| / ||error||, with the conventions above.
    public static func snr(signalNorm: Double, errorNorm: Double) -> Double {
        if errorNorm == 0 { return .infinity }
        return signalNorm / errorNorm
    }

    /// Measures `defended` against `original` (same layout): SNRs and fraction of changed entries.
    /// The DP and label fields are filled from the arguments.
    public static func measure(original: ModelUpdate, defended: ModelUpdate, label: String,
                               epsilon: Double? = nil, delta: Double? = nil, noiseStd: Double? = nil) -> DefenceEffect {
        precondition(original.hasSameLayout(as: defended), "DefenceEffect.measure: layouts differ")
        var perTensor: [TensorSNR] = []
        var signal = 0.0, error = 0.0
        var changed = 0, total = 0
        for (k, name) in original.names.enumerated() {
            let (s, e, c) = original.tensors[k].withUnsafeBufferPointer { a in
                defended.tensors[k].withUnsafeBufferPointer { b -> (Double, Double, Int) in
                    var s = 0.0, e = 0.0, c = 0
                    for i in 0..<a.count {
                        let x = Double(a[i]), d = x - Double(b[i])
                        s += x * x
                        e += d * d
                        if a[i] != b[i] { c += 1 }
                    }
                    return (s, e, c)
                }
            }
            perTensor.append(TensorSNR(name: name, snr: snr(signalNorm: s.squareRoot(), errorNorm: e.squareRoot())))
            signal += s
            error += e
            changed += c
            total += original.tensors[k].count
        }
        return DefenceEffect(snr: snr(signalNorm: signal.squareRoot(), errorNorm: error.squareRoot()),
                             perTensorSNR: perTensor,
                             fractionChanged: total == 0 ? 0 : Double(changed) / Double(total),
                             epsilon: epsilon, delta: delta, noiseStd: noiseStd, label: label)
    }
}

/// A defended update and what the defence did to it.
public struct DefenceOutcome: Sendable {
    /// The update as it leaves the client.
    public var update: ModelUpdate
    public var effect: DefenceEffect

    public init(update: ModelUpdate, effect: DefenceEffect) {
        self.update = update
        self.effect = effect
    }
}
