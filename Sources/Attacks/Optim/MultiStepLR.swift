import Foundation

/// `torch.optim.lr_scheduler.MultiStepLR`: the learning rate is multiplied by `gamma` each time the
/// scheduler's epoch reaches a milestone (twice for a milestone listed twice).
///
/// Optimisers here step it once per iteration, after the parameter update, as Geiping et al.'s
/// Inverting Gradients code does (`optimizer.step(closure); scheduler.step()`). So the step with
/// 0-based index `i` uses `lr * gamma^(number of milestones <= i)`.
public struct MultiStepLR: Sendable, Equatable, Codable {
    /// Epochs (here: iteration counts) at which the rate drops. torch default: none.
    public var milestones: [Int]
    /// Multiplicative factor at each milestone (torch default 0.1).
    public var gamma: Double

    public init(milestones: [Int], gamma: Double = 0.1) {
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }

    /// The factor torch applies when its `last_epoch` becomes `epoch`: `gamma^k` with `k` the number
    /// of times `epoch` is a milestone (1 when it is none). Epoch 0 is entered at construction.
    public func factor(enteringEpoch epoch: Int) -> Double {
        let k = milestones.reduce(0) { $0 + ($1 == epoch ? 1 : 0) }
        return k == 0 ? 1 : pow(gamma, Double(k))
    }

    /// Closed form of the rate used by the step with 0-based index `iteration`:
    /// `base * gamma^(number of milestones <= iteration)`.
    public func learningRate(base: Double, iteration: Int) -> Double {
        let k = milestones.reduce(0) { $0 + ($1 <= iteration ? 1 : 0) }
        return base * pow(gamma, Double(k))
    }

    /// The schedule of Geiping et al.'s Inverting Gradients (`inversefed`):
    /// milestones `[n // 2.667, n // 1.6, n // 1.142]` (Python float floor division), gamma 0.1.
    public static func invertingGradients(maxIterations n: Int, gamma: Double = 0.1) -> MultiStepLR {
        MultiStepLR(milestones: [2.667, 1.6, 1.142].map { Int(pythonFloorDivide(Double(n), $0)) }, gamma: gamma)
    }

    /// Python's `float.__floordiv__` (CPython `float_floor_div`), for bit-identical milestones.
    static func pythonFloorDivide(_ vx: Double, _ wx: Double) -> Double {
        var mod = fmod(vx, wx)
        var div = (vx - mod) / wx
        if mod != 0 {
            if (wx < 0) != (mod < 0) {
                mod += wx
                div -= 1.0
            }
        }
        if div != 0 {
            var floordiv = div.rounded(.down)
            if div - floordiv > 0.5 { floordiv += 1.0 }
            return floordiv
        }
        return (vx / wx).sign == .minus ? -0.0 : 0.0
    }
}
