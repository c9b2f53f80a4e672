import Foundation
import XCTest
@testable import Attacks

// MARK: - Objectives

/// A non-throwing objective (`OptimizerObjective` may throw; `step` rethrows).
private typealias Objective<S: BinaryFloatingPoint> = (_ x: [S]) -> (loss: Double, gradient: [S])

/// Rosenbrock (1 - x0)^2 + 100 (x1 - x0^2)^2 and its gradient, in Double.
private func rosenbrock(_ x: [Double]) -> (loss: Double, gradient: [Double]) {
    let x0 = x[0], x1 = x[1]
    let u = x1 - x0 * x0
    let loss = (1 - x0) * (1 - x0) + 100 * (u * u)
    return (loss, [-2 * (1 - x0) - 400 * x0 * u, 200 * u])
}

/// sum_i (i+1) (x_i - c_i)^2 + 0.1 (|x|^2)^2: a smooth 4-D test function.
private let quarticCentre: [Double] = [1.0, -0.5, 0.25, 2.0]
private func quartic(_ x: [Double]) -> (loss: Double, gradient: [Double]) {
    let s = x.reduce(0) { $0 + $1 * $1 }
    var loss = 0.0
    var g = [Double](repeating: 0, count: 4)
    for i in 0..<4 {
        let e = x[i] - quarticCentre[i]
        loss += Double(i + 1) * (e * e)
        g[i] = 2 * Double(i + 1) * e + 0.4 * s * x[i]
    }
    return (loss + 0.1 * s * s, g)
}

private struct LBFGSGolden: Decodable {
    struct Point: Decodable { let x: [Double]; let evals: Int }
    let trajectories_after_each_step: [String: [Point]]
}

private func loadGolden() throws -> LBFGSGolden {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/lbfgs.json")
    return try JSONDecoder().decode(LBFGSGolden.self, from: Data(contentsOf: url))
}

private func assertClose(_ a: [Double], _ b: [Double], _ tol: Double, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (u, v) in zip(a, b) where !(abs(u - v) <= tol) {
        XCTFail("\(message): \(a) vs \(b) (tolerance \(tol))", file: file, line: line)
        return
    }
}

// MARK: - L-BFGS

final class LBFGSTests: XCTestCase {
    /// torch.optim.LBFGS on Rosenbrock from (-1.5, 2), 10 steps, no line search (golden lbfgs.json).
    func testGoldenWithoutLineSearch() throws {
        let golden = try XCTUnwrap(loadGolden().trajectories_after_each_step["none"])
        let opt = LBFGS(parameters: [-1.5, 2.0])
        XCTAssertEqual(opt.options.maxEval, 25)
        for (k, point) in golden.enumerated() {
            opt.step(rosenbrock)
            XCTAssertEqual(opt.evaluations, point.evals, "cumulative evaluations after step \(k + 1)")
            // The trajectory is rounding-sensitive (one ulp at the start moves step 4 by ~3e-4).
            assertClose(opt.parameters, point.x, k == golden.count - 1 ? 1e-7 : 1e-3, "step \(k + 1)")
        }
        XCTAssertEqual(opt.status, .converged)
        XCTAssertEqual(opt.report.evaluations, 94)
    }

    /// The same with line_search_fn="strong_wolfe": stable, so compared tightly.
    func testGoldenStrongWolfe() throws {
        let golden = try XCTUnwrap(loadGolden().trajectories_after_each_step["strong_wolfe"])
        let opt = LBFGS(parameters: [-1.5, 2.0], options: LBFGSOptions(lineSearchFn: .strongWolfe))
        for (k, point) in golden.enumerated() {
            opt.step(rosenbrock)
            XCTAssertEqual(opt.evaluations, point.evals, "cumulative evaluations after step \(k + 1)")
            assertClose(opt.parameters, point.x, 1e-9, "step \(k + 1)")
        }
        XCTAssertEqual(opt.bestParameters, opt.parameters)
    }

    /// Reference values from a line-for-line Python transcription of torch/optim/lbfgs.py (float64):
    /// (returned loss, x, cumulative evaluations, torch's n_iter, len(old_dirs)) after each of 4 steps.
    /// historySize 3 < iterations exercises the history shift; the state carries across steps.
    func testStrongWolfeSmallHistoryAcrossSteps() {
        let expected: [(Double, [Double], Int, Int, Int)] = [
            (15.34794, [0.5923409593957005, -0.3720572203946994, 0.2037063933105005, 1.7060783914824826], 8, 7, 3),
            (1.7353017502886077, [0.5922623924667773, -0.37196952547563944, 0.20333887787811483, 1.7063351393086463], 11, 10, 3),
            (1.7353008842236468, [0.5922623924667773, -0.37196952547563944, 0.20333887787811483, 1.7063351393086463], 12, 11, 3),
            (1.7353008842236468, [0.5922623924667773, -0.37196952547563944, 0.20333887787811483, 1.7063351393086463], 13, 12, 3),
        ]
        let opt = LBFGS(parameters: [0.3, 0.2, -1.0, 0.5],
                        options: LBFGSOptions(maxIter: 7, historySize: 3, lineSearchFn: .strongWolfe))
        for (k, e) in expected.enumerated() {
            let loss = opt.step(quartic)
            XCTAssertEqual(loss, e.0, accuracy: 1e-12 * abs(e.0), "returned loss, step \(k + 1)")
            assertClose(opt.parameters, e.1, 1e-12, "step \(k + 1)")
            XCTAssertEqual(opt.evaluations, e.2, "evaluations, step \(k + 1)")
            XCTAssertEqual(opt.iterations, e.3, "iterations, step \(k + 1)")
            XCTAssertEqual(opt.historyCount, e.4, "history, step \(k + 1)")
        }
    }

    /// Fixed step lr 0.1, maxIter 5, maxEval 4: every step stops on the evaluation budget.
    func testFixedStepEvaluationBudget() {
        let expected: [(Double, [Double], Int, Int)] = [
            (15.34794, [0.36454069618925167, 0.08262459726639537, -0.7437981025928166, 0.8057853366985829], 4, 3),
            (9.930371481657984, [0.4582005188570604, -0.05762769655341274, -0.4730264486050467, 1.088074379991918], 8, 6),
            (5.842409203929744, [0.5197826059535249, -0.15598553648276742, -0.27626339029349245, 1.2766324486720884], 12, 9),
            (3.791449536961848, [0.5531839268083266, -0.22197039985368539, -0.13769928061582687, 1.403873992056927], 16, 12),
        ]
        let opt = LBFGS(parameters: [0.3, 0.2, -1.0, 0.5],
                        options: LBFGSOptions(lr: 0.1, maxIter: 5, maxEval: 4, historySize: 2))
        for (k, e) in expected.enumerated() {
            let loss = opt.step(quartic)
            XCTAssertEqual(loss, e.0, accuracy: 1e-12 * abs(e.0), "returned loss, step \(k + 1)")
            assertClose(opt.parameters, e.1, 1e-12, "step \(k + 1)")
            XCTAssertEqual(opt.evaluations, e.2)
            XCTAssertEqual(opt.iterations, e.3)
            XCTAssertEqual(opt.stopReason, .maxEvaluations)
            XCTAssertEqual(opt.status, .maxIterations)
            XCTAssertLessThanOrEqual(opt.historyCount, 2)
        }
    }

    /// The first evaluation: torch returns orig_loss, and stops at once when max|g| <= toleranceGrad.
    func testOptimalStartAndReturnValue() {
        let opt = LBFGS(parameters: [1.0, 1.0])
        XCTAssertEqual(opt.status, .notStarted)
        XCTAssertEqual(opt.step(rosenbrock), 0)
        XCTAssertEqual(opt.evaluations, 1)
        XCTAssertEqual(opt.iterations, 0)
        XCTAssertEqual(opt.stopReason, .gradientTolerance)
        XCTAssertEqual(opt.status, .converged)

        let moving = LBFGS(parameters: [-1.5, 2.0], options: LBFGSOptions(maxIter: 3, maxEval: 10))
        let start = rosenbrock([-1.5, 2.0]).loss
        XCTAssertEqual(moving.step(rosenbrock), start)
        XCTAssertEqual(moving.report.iterations, 3)
        // Without line search the last iteration of a step moves without evaluating.
        XCTAssertEqual(moving.report.evaluations, 3)
        XCTAssertEqual(moving.status, .maxIterations)
        // With torch's default maxEval (3 * 5 / 4 = 3) the evaluation budget ends it one iteration earlier.
        let budget = LBFGS(parameters: [-1.5, 2.0], options: LBFGSOptions(maxIter: 3))
        budget.step(rosenbrock)
        XCTAssertEqual(budget.iterations, 2)
        XCTAssertEqual(budget.evaluations, 3)
        XCTAssertEqual(budget.stopReason, .maxEvaluations)
    }

    func testCubicInterpolation() {
        // f(x) = (x - 1)^2 - 3x through x = 0 and x = 4 has its minimum at 2.5; the cubic fit is exact.
        let f: (Double) -> Double = { ($0 - 1) * ($0 - 1) - 3 * $0 }
        let g: (Double) -> Double = { 2 * ($0 - 1) - 3 }
        XCTAssertEqual(cubicInterpolate(0, f(0), g(0), 4, f(4), g(4)), 2.5, accuracy: 1e-12)
        XCTAssertEqual(cubicInterpolate(4, f(4), g(4), 0, f(0), g(0)), 2.5, accuracy: 1e-12)
        // Clamped to the bounds.
        XCTAssertEqual(cubicInterpolate(0, f(0), g(0), 4, f(4), g(4), bounds: (3, 10)), 3)
        // No real minimiser (d1 = 0, d1^2 < g1 g2): the bounds' midpoint.
        XCTAssertEqual(cubicInterpolate(0, 0, 1, 1, 2.0 / 3.0, 1, bounds: (1, 3)), 2)
        XCTAssertEqual(cubicInterpolate(1, 2.0 / 3.0, 1, 0, 0, 1), 0.5)
        // The default maxEval follows torch: max_iter * 5 // 4.
        XCTAssertEqual(LBFGSOptions(maxIter: 3).maxEval, 3)
        XCTAssertEqual(LBFGSOptions(maxIter: 500).maxEval, 625)
    }

    /// A transient NaN: back to the best iterate with an empty memory, `.nonFinite`, then it carries on.
    func testNonFiniteRecovery() {
        var calls = 0
        let flaky: Objective<Double> = { x in
            calls += 1
            return calls == 6 ? (.nan, [.nan, 1]) : rosenbrock(x)
        }
        let opt = LBFGS(parameters: [-1.5, 2.0])
        let first = opt.step(flaky)
        XCTAssertEqual(first, rosenbrock([-1.5, 2.0]).loss, "the step's first loss")
        XCTAssertEqual(opt.status, .nonFinite)
        XCTAssertEqual(opt.stopReason, .nonFinite)
        XCTAssertEqual(opt.historyCount, 0)
        XCTAssertEqual(opt.evaluations, 6)
        XCTAssertEqual(opt.iterations, 5)
        XCTAssertEqual(opt.parameters, opt.bestParameters)
        let best = try! XCTUnwrap(opt.bestLoss)
        XCTAssertLessThan(best, first)
        XCTAssertEqual(rosenbrock(opt.parameters).loss, best)
        XCTAssertEqual(opt.report.finalLoss, best)
        XCTAssertEqual(opt.report.nonFiniteRestarts, 1)

        for _ in 0..<10 {
            XCTAssertTrue(opt.step(flaky).isFinite)
        }
        XCTAssertEqual(opt.evaluations, calls)
        XCTAssertEqual(opt.nonFiniteRestarts, 1)
        XCTAssertEqual(opt.status, .converged)
        assertClose(opt.parameters, [1, 1], 1e-4, "converges after the restart")
    }

    /// A NaN region: restarts from the best iterate until `maxNonFiniteRestarts`, then stops evaluating.
    func testPersistentNonFiniteStops() {
        var calls = 0
        let poisoned: Objective<Double> = { x in
            calls += 1
            return x[0] > -1.2 ? (.nan, [.nan, .nan]) : rosenbrock(x)
        }
        let start = rosenbrock([-1.5, 2.0]).loss
        let opt = LBFGS(parameters: [-1.5, 2.0], options: LBFGSOptions(maxNonFiniteRestarts: 1))
        XCTAssertEqual(opt.step(poisoned), start)
        XCTAssertEqual(opt.status, .nonFinite)
        XCTAssertFalse(opt.isStopped)
        XCTAssertEqual(opt.step(poisoned), start)
        XCTAssertTrue(opt.isStopped)
        let before = calls
        XCTAssertEqual(opt.step(poisoned), start)
        XCTAssertEqual(calls, before, "a stopped optimiser does not evaluate")
        XCTAssertEqual(opt.stopReason, .stopped)
        XCTAssertEqual(opt.status, .nonFinite)
        XCTAssertEqual(opt.parameters, [-1.5, 2.0])
        XCTAssertEqual(opt.report.bestLoss, start)
        XCTAssertEqual(opt.report.finalLoss, start)

        // Nothing finite at all: the start is kept and no loss is reported.
        let hopeless = LBFGS(parameters: [0.0, 0.0], options: LBFGSOptions(maxNonFiniteRestarts: 0))
        XCTAssertEqual(hopeless.step { _ in (.infinity, [0, 0]) }, .infinity)
        XCTAssertNil(hopeless.report.bestLoss)
        XCTAssertNil(hopeless.report.finalLoss)
        XCTAssertTrue(hopeless.isStopped)
    }

    /// Non-finite inside the strong-Wolfe line search (an infinite loss far along the line).
    func testNonFiniteInLineSearch() {
        let exploding: Objective<Double> = { x in
            if abs(x[0]) > 3 { return (.infinity, rosenbrock(x).gradient) }
            return rosenbrock(x)
        }
        let opt = LBFGS(parameters: [-1.5, 2.0], options: LBFGSOptions(lr: 100, lineSearchFn: .strongWolfe))
        opt.step(exploding)
        XCTAssertEqual(opt.status, .nonFinite)
        XCTAssertEqual(opt.parameters, opt.bestParameters)
        XCTAssertTrue(rosenbrock(opt.parameters).loss <= rosenbrock([-1.5, 2.0]).loss)
    }

    /// Float (like PyTorch float32): converges on Rosenbrock with strong Wolfe.
    func testFloatConverges() {
        let opt = LBFGS<Float>(parameters: [-1.5, 2.0], options: LBFGSOptions(lineSearchFn: .strongWolfe))
        let objective: Objective<Float> = { x in
            let r = rosenbrock(x.map(Double.init))
            return (r.loss, r.gradient.map(Float.init))
        }
        for _ in 0..<10 { opt.step(objective) }
        XCTAssertEqual(opt.parameters[0], 1, accuracy: 1e-3)
        XCTAssertEqual(opt.parameters[1], 1, accuracy: 2e-3)
        XCTAssertLessThan(try XCTUnwrap(opt.bestLoss), 1e-6)
    }
}

// MARK: - Adam

final class AdamTests: XCTestCase {
    /// Three steps on f(x) = 0.5 sum a_i x_i^2 + b.x (gradient a*x + b), lr 0.1, torch defaults.
    /// Expected values written from torch's _single_tensor_adam formulas, in float64:
    ///   m = m + (1 - beta1) (g - m);  v = beta2 v + (1 - beta2) g^2
    ///   x = x - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    func testAdamMatchesTorchFormulas() {
        let a: [Double] = [2, 0.5, 4], b: [Double] = [-1, 0.25, 0]
        let objective: Objective<Double> = { x in
            let g = (0..<3).map { a[$0] * x[$0] + b[$0] }
            var loss = 0.0
            for i in 0..<3 { loss += 0.5 * a[i] * x[i] * x[i] + b[i] * x[i] }
            return (loss, g)
        }
        let expected: [[Double]] = [
            [0.900000001, -1.9000000013333334, 0.4000000005],
            [0.8011874216591668, -1.8002390643206105, 0.30118742062343007],
            [0.7048712525602996, -1.700902873599902, 0.20487125097072387],
        ]
        let adam = Adam(parameters: [1.0, -2.0, 0.5], options: AdamOptions(lr: 0.1))
        for (k, e) in expected.enumerated() {
            let x = adam.parameters
            XCTAssertEqual(adam.step(objective), objective(x).loss, "returns the loss before the update")
            assertClose(adam.parameters, e, 1e-14, "Adam step \(k + 1)")
        }
        XCTAssertEqual(adam.report.iterations, 3)
        XCTAssertEqual(adam.report.evaluations, 3)
        XCTAssertEqual(adam.status, .running)
    }

    /// A constant gradient g: with bias correction every step is lr * g / (|g| + eps).
    func testBiasCorrection() {
        let adam = Adam(parameters: [0.0, 0.0], options: AdamOptions(lr: 0.01))
        for _ in 0..<50 { adam.step { _ in (0, [3.0, -0.002]) } }
        XCTAssertEqual(adam.parameters[0], -50 * 0.01 * 3 / (3 + 1e-8), accuracy: 1e-12)
        XCTAssertEqual(adam.parameters[1], 50 * 0.01 * 0.002 / (0.002 + 1e-8), accuracy: 1e-12)
    }

    /// MultiStepLR: the step with 0-based index i uses lr * gamma^(#milestones <= i).
    func testScheduleDropsAtMilestones() {
        let schedule = MultiStepLR(milestones: [5, 2, 5], gamma: 0.5)
        let adam = Adam(parameters: [0.0], options: AdamOptions(lr: 0.1, schedule: schedule))
        var used: [Double] = []
        for _ in 0..<8 {
            used.append(adam.learningRate)
            adam.step { _ in (0, [1.0]) }
        }
        XCTAssertEqual(used, [0.1, 0.1, 0.05, 0.05, 0.05, 0.0125, 0.0125, 0.0125])
        for i in 0..<8 { XCTAssertEqual(schedule.learningRate(base: 0.1, iteration: i), used[i], accuracy: 1e-17) }
        // A milestone at 0 applies when the scheduler is made.
        XCTAssertEqual(Adam<Float>(parameters: [0], options: AdamOptions(
            lr: 1, schedule: MultiStepLR(milestones: [0], gamma: 0.1))).learningRate, 0.1)
        // Inverting Gradients' milestones, n // 2.667, n // 1.6, n // 1.142 in Python.
        XCTAssertEqual(MultiStepLR.invertingGradients(maxIterations: 24000).milestones, [8998, 14999, 21015])
        XCTAssertEqual(MultiStepLR.invertingGradients(maxIterations: 4800).milestones, [1799, 2999, 4203])
        XCTAssertEqual(MultiStepLR.invertingGradients(maxIterations: 8).milestones, [2, 4, 7])
    }

    /// The box holds after every step, only on its coordinates.
    func testBoxConstraint() {
        let box = [BoxConstraint.unit(indices: 0..<3)]
        let adam = Adam<Float>(parameters: [0.5, 0.5, 0.5, 0.5], options: AdamOptions(lr: 0.3, box: box))
        // Pulls coordinates 0 and 3 up to 5, 1 down to -5, leaves 2 near 0.9.
        let target: [Float] = [5, -5, 0.9, 5]
        for _ in 0..<40 {
            adam.step { x in (0, (0..<4).map { x[$0] - target[$0] }) }
            for i in 0..<3 { XCTAssertTrue((0...1).contains(adam.parameters[i])) }
        }
        XCTAssertEqual(adam.parameters[0], 1)
        XCTAssertEqual(adam.parameters[1], 0)
        XCTAssertGreaterThan(adam.parameters[3], 1, "outside the box's indices")
    }

    /// Signed gradients: only the signs matter.
    func testSignedGradients() {
        let options = AdamOptions(lr: 0.05, signedGradients: true)
        let a = Adam(parameters: [1.0, -1.0, 0.5], options: options)
        let b = Adam(parameters: [1.0, -1.0, 0.5], options: options)
        let c = Adam(parameters: [1.0, -1.0, 0.5], options: AdamOptions(lr: 0.05))
        var k = 0.0
        for _ in 0..<10 {
            k += 1
            a.step { x in (0, x.map { $0 * 1e-6 * k }) }           // tiny, varying magnitudes
            b.step { x in (0, x.map { $0 * 300 }) }                // large ones, same signs
            c.step { x in (0, x.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }) }
        }
        XCTAssertEqual(a.parameters, b.parameters)
        XCTAssertEqual(a.parameters, c.parameters)
        let zero = Adam(parameters: [0.0], options: options)
        zero.step { _ in (0, [0]) }
        XCTAssertEqual(zero.parameters, [0], "sign(0) = 0")
    }

    func testAdamNonFinite() {
        let adam = Adam(parameters: [2.0], options: AdamOptions(lr: 0.5, maxNonFiniteRestarts: 0))
        adam.step { x in (x[0] * x[0], [2 * x[0]]) }
        adam.step { x in (x[0] * x[0], [2 * x[0]]) }
        let loss = adam.step { _ in (.nan, [1]) }
        XCTAssertEqual(adam.status, .nonFinite)
        XCTAssertEqual(loss, adam.bestLoss)
        XCTAssertEqual(adam.parameters, adam.bestParameters)
        XCTAssertEqual(adam.parameters[0] * adam.parameters[0], try XCTUnwrap(adam.bestLoss))
        XCTAssertTrue(adam.isStopped)
        XCTAssertEqual(adam.report.evaluations, 3)
    }
}
