import Foundation
import NN
import Tensor

/// Batch label restoration as an attack of its own: the batch's labels (as a multiset) from the last layer's
/// gradients, by iLRG or LLG+ (default `auto`: the label source's rule, iLRG without batch norm, LLG+ with it;
/// on untrained torchvision resnet18 at 64 px iLRG restored 0.56 / 0.71 of a batch of 32 / 128, exactly as the
/// authors' code does on the same update, and LLG+ 0.97 / 0.98: docs/RESULTS.md); no image is reconstructed (the result's images are a flat grey
/// placeholder, which scoring gives SSIM 0 and never counts as rebuilt: `reconstructsImages`). The same
/// restoration gives every optimisation attack its labels at batch > 1.
enum BatchLabelRestoration: AttackMethod {
    static let key = "ilrg"
    static let differentiatesGradient = false
    static let displayName = "Batch label restoration"
    static let citation = "Ma et al. 2023, Instance-wise Batch Label Restoration via Gradients in Federated Learning, ICLR"
    static let threatModel = ThreatModel.honestButCurious
    static let reconstructsImages = false
    static var defaults: AttackConfig {
        AttackConfig(kind: AttackKind(registered: key), iterations: 0, maxIterPerStep: 0, learningRate: 0, initialization: .constant,
                     restarts: 1, tvWeight: 0, earlyStopLoss: nil, signedGradients: false, extras: ["method": "auto"])
    }
    static let parameters: [AttackParameter] = [
        .extra("method", .choice(LabelRestoration.Method.allCases.map(\.rawValue)),
               doc: "`auto`: iLRG on models without batch norm, LLG+ on models with it (the rule of every attack's label source); `ilrg`: class counts from the last layer's weight and bias gradients (Ma et al. 2023); `llg`: LLG+ counts from the bias gradient and the model's mean prediction (Wainakh et al. 2022)."),
    ]

    static func method(_ c: AttackConfig) -> LabelRestoration.Method {
        c.extraWord("method").flatMap(LabelRestoration.Method.init(rawValue:)) ?? .auto
    }

    static func inapplicability(model: Model, batchSize: Int) -> String? { nil }

    static func describe(_ c: AttackConfig) -> String {
        switch method(c) {
        case .auto: return "labels only: iLRG's class counts on models without batch norm, LLG+ on models with it; no image is reconstructed"
        case .ilrg: return "labels only: iLRG's class counts from the last layer's gradients (least squares over the classes' estimated softmax outputs); no image is reconstructed"
        case .llg: return "labels only: LLG+ class counts from the last layer's bias gradient and the model's mean prediction on random inputs; no image is reconstructed"
        }
    }

    static func summary(_ c: AttackConfig) -> String { "labels only, \(method(c).rawValue)" }

    static func run(_ config: AttackConfig, on p: AttackProblem, seed: UInt64, start: AttackStart?,
                    progress: AttackProgress?) throws -> AttackResult {
        let t0 = Date()
        let m = method(config)
        var note = "labels only (no image reconstructed)"
        var labels: [Int]
        if p.batchSize == 1 && m != .llg {
            labels = LabelInference.infer(p)
        } else {
            labels = LabelRestoration.restore(p, method: m, seed: SeededGenerator(seed: seed).derived("llg").seed)
        }
        if m == .ilrg || (m == .auto && !p.model.hasBatchNorm), let why = LabelRestoration.ilrgInapplicability(p.model), p.batchSize > 1 {
            note += "; iLRG needs a classifier bias (\(why)): LLG+ used"
        }
        labels.sort()
        progress?(1, 1, 0)
        return AttackResult(kind: config.kind, applicable: true, note: note, images: Tensor(shape: p.imageShape, repeating: 0.5),
                            labels: labels, iterations: 0, evaluations: 0, finalLoss: 0, seconds: Date().timeIntervalSince(t0))
    }
}
