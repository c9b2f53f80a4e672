import Foundation
import Tensor

/// Wei et al. 2020 ("A Framework for Evaluating Gradient Leakage Attacks", CPL): label first by the iDLG
/// rule, then L-BFGS on the images. Its procedure is iDLG's; what makes it CPL is its configuration: the
/// patterned initialisation (a U[0,1) 16x16 tile repeated over the image) and the optional early stop once
/// the matching loss falls below a threshold.
enum CPL: OptimisationAttack {
    static let key = "cpl"
    static let displayName = "CPL"
    static let citation = "Wei et al. 2020, A Framework for Evaluating Gradient Leakage Attacks in Federated Learning, ESORICS"
    static let threatModel = ThreatModel.honestButCurious
    static let optimiser = MatchingOptimiser.lbfgs
    static var defaults: AttackConfig { AttackConfig.lbfgs(key, initialization: .patterned) }
    static let parameters: [AttackParameter] = DLG.parameters

    static func runStart(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        try IDLG.runStart(p, c, start, &rng, progress)
    }
}
