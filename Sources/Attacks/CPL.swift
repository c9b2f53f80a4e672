import Foundation
import Tensor

/// Wei et al. 2020 ("A Framework for Evaluating Gradient Leakage Attacks", CPL): label first by the iDLG
/// rule, then L-BFGS on the images. Its procedure is iDLG's; what makes it CPL is its configuration
/// (`AttackConfig.defaults(for: .cpl)`): the patterned initialisation (a U[0,1) 16x16 tile repeated over
/// the image) and the optional early stop once the matching loss falls below a threshold.
enum CPL {
    static func run(_ p: AttackProblem, _ c: AttackConfig, _ start: AttackStart?, _ rng: inout SeededGenerator, _ progress: AttackProgress?) throws
        -> (MatchingOptimisation.Outcome, [Int]) {
        try IDLG.run(p, c, start, &rng, progress)
    }
}
