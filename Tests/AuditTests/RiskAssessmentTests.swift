import Evaluation
import Metrics
import Attacks
import Federated
import XCTest
@testable import Audit

/// Bands, the recommended setting and the site's risk: pure functions on trial summaries.
final class RiskAssessmentTests: XCTestCase {
    let t = RiskThresholds()

    func testBandRules() {
        XCTAssertEqual(RiskAssessment.band(successes: 1, maxSSIM: 0.2, labelLeakage: 0, thresholds: t), .high, "any success is HIGH")
        XCTAssertEqual(RiskAssessment.band(successes: 0, maxSSIM: 0.9, labelLeakage: 0, thresholds: t), .high, "max SSIM at the high threshold")
        XCTAssertEqual(RiskAssessment.band(successes: 0, maxSSIM: 0.5, labelLeakage: 0, thresholds: t), .medium)
        XCTAssertEqual(RiskAssessment.band(successes: 0, maxSSIM: 0.1, labelLeakage: 0.2, thresholds: t), .medium, "label leakage alone is MEDIUM")
        XCTAssertEqual(RiskAssessment.band(successes: 0, maxSSIM: 0.49, labelLeakage: 0, thresholds: t), .low)
        var lenient = t
        lenient.labelLeakage = 0.25
        XCTAssertEqual(RiskAssessment.band(successes: 0, maxSSIM: 0.1, labelLeakage: 0.2, thresholds: lenient), .low)
        XCTAssertTrue(RiskBand.low < RiskBand.medium && RiskBand.medium < RiskBand.high)
    }

    /// Re-identification makes a setting HIGH at the threshold even with every SSIM far below the SSIM thresholds,
    /// and has its own verdict line with its 95% interval; trials stopped while still improving are flagged.
    func testReidentificationIsHighBelowTheSSIMThresholds() {
        var e = LeakageEvidence()
        for rank in [1, 1, 1, 7, 30, 2] { e.add(ImageEvidence(rankSSIM: rank, rankFeatures: rank == 30 ? 1 : 40, pool: 180, priorSSIM: 0.2), ssim: 0.3) }
        var c = LeakageEvidence()
        c.add(Convergence(lateDrop: 0.4, iterations: 100)); c.add(Convergence(lateDrop: 0.01, iterations: 100))
        var trial = TrialSummary(defence: "none", attack: "cpl", images: 6, successes: 0, labelsRecovered: 0, meanSSIM: 0.3, maxSSIM: 0.35)
        trial.evidence = e + c
        let r = RiskAssessment.attackRisk("cpl", [trial], thresholds: t)
        XCTAssertEqual(r.reidentified?.count, 4, "three by SSIM, one more by features")
        XCTAssertEqual(r.band, .high, "4 of 6 re-identified reaches the default threshold of 50%")
        XCTAssertEqual(r.evidence.meanRDLV!, 0.5, accuracy: 1e-12, "(0.3 - 0.2) / 0.2")
        var strict = t
        strict.reidentification = 0.7
        XCTAssertEqual(RiskAssessment.attackRisk("cpl", [trial], thresholds: strict).band, .low, "below a 70% threshold, and SSIM 0.35 is LOW")
        let s = SettingRisk(defence: "none", label: "no defence", band: r.band, attacks: [r], snr: .infinity, epsilon: nil, accuracy: nil,
                            accuracyDrop: nil, withinBudget: nil, labelLeakage: 0, verdict: [])
        let lines = RiskAssessment.verdict(s, thresholds: t)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Re-identification") && $0.contains("cpl 4 of 6 (67%, 95% CI 30–90%; top 5: 5 of 6)") && $0.contains("HIGH") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("Not converged: 1 of 2 cpl trials") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("attack success 0%, 95% CI 0–39%") }, "\(lines)")
    }

    func testAttackAggregatesOverSamplesAndSkipsInapplicableTrials() {
        let trials = [
            TrialSummary(defence: "none", attack: "cpl", images: 2, successes: 1, labelsRecovered: 2, meanSSIM: 0.6, maxSSIM: 0.95),
            TrialSummary(defence: "none", attack: "cpl", images: 2, successes: 0, labelsRecovered: 1, meanSSIM: 0.2, maxSSIM: 0.3),
        ]
        let r = RiskAssessment.attackRisk("cpl", trials, thresholds: t)
        XCTAssertEqual(r.images, 4)
        XCTAssertEqual(r.asr, 0.25, accuracy: 1e-12)
        XCTAssertEqual(r.meanSSIM, 0.4, accuracy: 1e-12)
        XCTAssertEqual(r.maxSSIM, 0.95)
        XCTAssertEqual(r.labelLeakage, 0.75, accuracy: 1e-12)
        XCTAssertEqual(r.band, .high)
        let na = RiskAssessment.attackRisk("analytic", [TrialSummary(defence: "none", attack: "analytic", applicable: false,
                                                                        note: "not applicable: conv", images: 1, successes: 0,
                                                                        labelsRecovered: 0, meanSSIM: nil, maxSSIM: nil)], thresholds: t)
        XCTAssertNil(na.band)
        XCTAssertEqual(na.applicableTrials, 0)
        XCTAssertEqual(na.note, "not applicable: conv")
    }

    /// A definition with two attacks and the given defences (the rest does not matter to the assessment).
    func definition(_ defences: [String], declared: String = "none", budget: Double? = nil) throws -> AuditDefinition {
        AuditDefinition(site: "Site", seed: 1,
                        model: ModelSection(zoo: "lenet", file: nil, classes: 6, inputSize: 32, weights: nil, version: "v", bn: .train, initSeed: 1),
                        data: DataSection(folder: "x", images: nil, samples: 1, selectionSeed: 1),
                        fl: FLSection(algorithm: .fedsgd, batchSize: 1, localSteps: nil, learningRate: nil),
                        attacks: [AttackEntry(label: "cpl", config: .defaults(for: .cpl)), AttackEntry(label: "analytic", config: .defaults(for: .analytic))],
                        defences: try defences.map { try DefenceSpec(parsing: $0) }, declaredDefence: try DefenceSpec(parsing: declared),
                        thresholds: t,
                        utility: budget.map { UtilitySection(maxAccuracyDrop: $0, rounds: 1, clients: 2, algorithm: .fedavg, localSteps: 1,
                                                             learningRate: 0.1, batchSize: 4, testFraction: 0.25, partition: "iid") },
                        output: OutputSection(), baseDirectory: "/")
    }

    func trial(_ defence: String, ssim: Double, success: Int = 0, labels: Int = 0, snr: Double) -> [TrialSummary] {
        [TrialSummary(defence: defence, attack: "cpl", images: 1, successes: success, labelsRecovered: labels, meanSSIM: ssim, maxSSIM: ssim, snr: snr),
         TrialSummary(defence: defence, attack: "analytic", applicable: false, note: "not applicable: conv", images: 1, successes: 0,
                      labelsRecovered: 0, meanSSIM: nil, maxSSIM: nil, snr: snr)]
    }

    func utility(_ defence: String, _ accuracy: Double) -> UtilityRunRecord {
        UtilityRunRecord(auditID: 1, defence: defence, accuracy: accuracy, baselineAccuracy: 0.8, rounds: 1, clients: 2, seed: 1, seconds: 1, details: nil)
    }

    func testWithoutUtilityTheLeastNoisyLowSettingIsRecommended() throws {
        let d = try definition(["none", "laplace:level=100", "laplace:level=400", "gaussian:scale=1"])
        let trials = trial("none", ssim: 0.99, success: 1, labels: 1, snr: .infinity)
            + trial("laplace:level=400", ssim: 0.3, snr: 20) + trial("laplace:level=100", ssim: 0.2, snr: 5)
            + trial("gaussian:scale=1", ssim: 0.01, snr: 0.1)
        let r = RiskAssessment.assess(trials: trials, utility: [], definition: d)
        XCTAssertEqual(r.settings.map(\.band), [.high, .low, .low, .low])
        XCTAssertEqual(r.siteRisk, .high, "the site's risk is the band of the declared setting")
        XCTAssertEqual(r.recommended, "laplace:level=400", "LOW with the least noise (highest SNR)")
        XCTAssertTrue(r.recommendation.contains("not measured"))
        XCTAssertFalse(r.utilityMeasured)
        for s in r.settings { XCTAssertTrue(s.verdict.contains { $0.hasPrefix("Label leakage:") }, "every verdict has a label line") }
        XCTAssertTrue(r.settings[0].verdict.contains { $0.hasPrefix("analytic: not applicable") })
    }

    func testWithUtilityTheCheapestLowSettingWithinBudgetIsRecommended() throws {
        let d = try definition(["none", "laplace:level=100", "laplace:level=400", "gaussian:scale=1"], declared: "laplace:level=400", budget: 0.05)
        let trials = trial("none", ssim: 0.99, success: 1, snr: .infinity) + trial("laplace:level=400", ssim: 0.3, snr: 20)
            + trial("laplace:level=100", ssim: 0.2, snr: 5) + trial("gaussian:scale=1", ssim: 0.01, snr: 0.1)
        let runs = [utility("none", 0.8), utility("laplace:level=400", 0.70), utility("laplace:level=100", 0.78), utility("gaussian:scale=1", 0.5)]
        let r = RiskAssessment.assess(trials: trials, utility: runs, definition: d)
        XCTAssertEqual(r.recommended, "laplace:level=100", "the LOW setting with the smallest accuracy drop within the budget")
        XCTAssertEqual(r.siteRisk, .low)
        XCTAssertEqual(r.settings[2].withinBudget, false)
        XCTAssertEqual(r.settings[1].accuracyDrop!, 0.02, accuracy: 1e-12)
        // No LOW setting within the budget: say so and name the cheapest LOW one.
        let tight = try definition(["none", "laplace:level=100"], budget: 0.01)
        let r2 = RiskAssessment.assess(trials: trial("none", ssim: 0.99, success: 1, snr: .infinity) + trial("laplace:level=100", ssim: 0.2, snr: 5),
                                       utility: [utility("none", 0.8), utility("laplace:level=100", 0.7)], definition: tight)
        XCTAssertNil(r2.recommended)
        XCTAssertTrue(r2.recommendation.hasPrefix("No setting is both LOW risk and within the accuracy budget"), r2.recommendation)
    }

    /// A utility run with per-image outcomes: `right` of `n` test images right in each of `runs` seeds (the first `right`).
    func pairedUtility(_ defence: String, right: [Int], n: Int, baseline: Double = 0.8, divergence: String? = nil) -> UtilityRunRecord {
        let runs = right.enumerated().map { i, k in
            UtilityEvidence.Run(seed: UInt64(i + 1), accuracy: Double(k) / Double(n), correct: (0..<n).map { $0 < k }, divergence: divergence)
        }
        let e = UtilityEvidence(runs: runs, classes: 6)
        return UtilityRunRecord(auditID: 1, defence: defence, accuracy: e.accuracy.estimate!, baselineAccuracy: baseline, rounds: 1, clients: 2,
                                seed: 1, seconds: 1, details: nil, evidence: e)
    }

    /// The budget holds only at the drop's 95% upper bound: a 3-point drop on 31 test images cannot be told within a
    /// 5-point budget; the same rates on 3 x 400 images can. Divergence is its own line, and a diverged setting is not recommended.
    func testTheBudgetIsJudgedAtTheUpperBoundOfThePairedInterval() throws {
        let d = try definition(["none", "laplace:level=100"], budget: 0.05)
        let trials = trial("none", ssim: 0.99, success: 1, snr: .infinity) + trial("laplace:level=100", ssim: 0.2, snr: 5)
        let small = RiskAssessment.assess(trials: trials, utility: [pairedUtility("none", right: [20], n: 31, baseline: 20.0 / 31),
                                                                    pairedUtility("laplace:level=100", right: [19], n: 31, baseline: 20.0 / 31)],
                                          definition: d)
        let s = small.settings[1]
        XCTAssertEqual(s.accuracyDrop!, 1.0 / 31, accuracy: 1e-12)
        let i = try XCTUnwrap(s.pairedDrop?.interval)
        XCTAssertGreaterThan(i.upperBound, 0.05)
        XCTAssertEqual(s.withinBudget, false)
        XCTAssertTrue(s.budgetUndetermined)
        XCTAssertNil(small.recommended, "not shown to be within the budget: not recommended")
        XCTAssertEqual(small.leastRisky, "laplace:level=100")
        XCTAssertEqual(small.reason, .budgetCannotBeTold)
        XCTAssertTrue(small.recommendation.contains("the test set cannot tell"), small.recommendation)
        XCTAssertTrue(small.recommendation.contains("paired test images (now 31)"), small.recommendation)
        XCTAssertTrue(s.verdict.contains { $0.hasPrefix("Accuracy cost: 3.2 accuracy points (95% CI") && $0.contains("paired over 31 test images") }, "\(s.verdict)")
        XCTAssertEqual(small.settings[0].accuracyProportion, Proportion(20, of: 31))
        // Enough images: the same 1-in-31 loss rate over 3 runs of 400 images is within the budget.
        let big = RiskAssessment.assess(trials: trials, utility: [pairedUtility("none", right: [300, 300, 300], n: 400, baseline: 0.75),
                                                                  pairedUtility("laplace:level=100", right: [290, 290, 290], n: 400, baseline: 0.75)],
                                        definition: d)
        XCTAssertEqual(big.recommended, "laplace:level=100")
        XCTAssertEqual(big.settings[1].pairedDrop?.pairs, 1200)
        XCTAssertTrue(big.recommendation.contains("in 3 training runs"), big.recommendation)
        // A diverged run is flagged in the verdict and never recommended.
        let broken = RiskAssessment.assess(trials: trials, utility: [pairedUtility("none", right: [300], n: 400, baseline: 0.75),
                                                                     pairedUtility("laplace:level=100", right: [299], n: 400, baseline: 0.75,
                                                                                   divergence: "the training loss is not finite from round 2")],
                                           definition: d)
        XCTAssertNil(broken.recommended)
        XCTAssertTrue(broken.settings[1].verdict.contains("Training diverged: the training loss is not finite from round 2; the accuracy figures of this setting describe a broken model."),
                      "\(broken.settings[1].verdict)")
    }

    /// Every setting says whether it carries a formal guarantee; DP states epsilon for one update and over the training the
    /// audit declares (Opacus: sigma 0.5, q 0.01, 100 steps = 8.03), or says the training is not accounted.
    func testEachSettingDeclaresItsGuaranteeAndDPItsWholeTrainingEpsilon() throws {
        var d = try definition(["none", "laplace:level=100", "dp:clip=4,sigma=0.5", "prune:p=90"])
        let trials = trial("none", ssim: 0.99, success: 1, snr: .infinity) + trial("laplace:level=100", ssim: 0.2, snr: 5)
            + trial("dp:clip=4,sigma=0.5", ssim: 0.1, snr: 1) + trial("prune:p=90", ssim: 0.3, snr: 3)
        let undeclared = RiskAssessment.assess(trials: trials, utility: [], definition: d)
        XCTAssertEqual(undeclared.settings.map { $0.guarantee!.kind }, [DefenceGuarantee.Kind.none, .heuristic, .formal, .heuristic])
        XCTAssertNil(undeclared.settings[2].trainingEpsilon)
        XCTAssertTrue(undeclared.settings[2].verdict.contains { $0.hasPrefix("Formal guarantee: (ε, δ)-differential privacy, ε = 10.7 at δ = 1e-05 for one update (the examples of its batch); the whole training is not accounted") },
                      "\(undeclared.settings[2].verdict)")
        XCTAssertTrue(undeclared.settings[1].verdict.contains("No formal guarantee: " + DefenceSpec.Component.noise.guarantee.reason))
        XCTAssertTrue(undeclared.settings[3].verdict.contains("No formal guarantee: " + DefenceSpec.Component.prune.guarantee.reason))
        d.fl.rounds = 100
        d.fl.sampleRate = 0.01
        let declared = RiskAssessment.assess(trials: trials, utility: [], definition: d)
        let dp = declared.settings[2]
        XCTAssertEqual(try XCTUnwrap(dp.trainingEpsilon), 8.030725352808414, accuracy: 1e-5 * 8.03)
        XCTAssertEqual(dp.delta, 1e-5)
        XCTAssertTrue(dp.verdict.contains { $0.contains("ε = 8.03 over the site's training as declared (100 rounds at sampling rate 0.01: any one example of the site).") }, "\(dp.verdict)")
        XCTAssertNil(declared.settings[1].trainingEpsilon, "no epsilon for a heuristic setting, declared training or not")
    }

    func testNoLowSettingSaysSoAndNamesTheLeastRisky() throws {
        let d = try definition(["none", "laplace:level=100", "prune:p=90"])
        let trials = trial("none", ssim: 0.99, success: 1, labels: 1, snr: .infinity)
            + trial("laplace:level=100", ssim: 0.6, labels: 1, snr: 5) + trial("prune:p=90", ssim: 0.3, labels: 1, snr: 2)
        let r = RiskAssessment.assess(trials: trials, utility: [], definition: d)
        XCTAssertEqual(r.settings.map(\.band), [.high, .medium, .medium])
        XCTAssertNil(r.recommended)
        XCTAssertEqual(r.leastRisky, "prune:p=90", "same band: the lower best SSIM wins")
        XCTAssertTrue(r.recommendation.hasPrefix("No tested setting is LOW risk against every attack."), r.recommendation)
        XCTAssertTrue(r.recommendation.contains("labels recovered up to 100%"))
        let records = r.records
        XCTAssertEqual(records.first?.kind, .site)
        XCTAssertEqual(records.first?.band, "HIGH")
        XCTAssertEqual(records[1].setting, "prune:p=90")
        XCTAssertEqual(records.filter { $0.kind == .setting }.count, 3)
    }

    /// Each threat model is rated on its own attacks: secure aggregation stops the eavesdropper's CPL here but
    /// not the malicious server's imprint; the overall risk is the highest band, and the verdict says which stops which.
    func testThreatModelsAreAssessedApart() throws {
        var d = try definition(["none", "secagg:clients=2", "laplace:level=100"])
        d.attacks = [AttackEntry(label: "cpl", config: .defaults(for: .cpl)), AttackEntry(label: "imprint", config: .defaults(for: .imprint))]
        func imprint(_ defence: String, rebuilt: Int) -> TrialSummary {
            TrialSummary(defence: defence, attack: "imprint", images: 8, successes: rebuilt, labelsRecovered: 0,
                         meanSSIM: Double(rebuilt) / 8, maxSSIM: rebuilt > 0 ? 1 : 0.1, snr: defence.hasPrefix("laplace") ? 5 : .infinity)
        }
        let trials = [TrialSummary(defence: "none", attack: "cpl", images: 1, successes: 1, labelsRecovered: 1, meanSSIM: 0.95, maxSSIM: 0.95),
                      TrialSummary(defence: "secagg:clients=2", attack: "cpl", images: 1, successes: 0, labelsRecovered: 0, meanSSIM: 0.1, maxSSIM: 0.1),
                      TrialSummary(defence: "laplace:level=100", attack: "cpl", images: 1, successes: 0, labelsRecovered: 0, meanSSIM: 0.2, maxSSIM: 0.2, snr: 5),
                      imprint("none", rebuilt: 8), imprint("secagg:clients=2", rebuilt: 5), imprint("laplace:level=100", rebuilt: 0)]
        d.declaredDefence = try DefenceSpec(parsing: "secagg:clients=2")
        let r = RiskAssessment.assess(trials: trials, utility: [], definition: d)
        let threats = try XCTUnwrap(r.threats)
        XCTAssertEqual(threats.map(\.threatModel), [.honestButCurious, .maliciousServer], "default scope: both")
        XCTAssertEqual(threats[0].attacks, ["cpl"])
        XCTAssertEqual(threats[1].attacks, ["imprint"])
        XCTAssertEqual(threats[0].settings.map(\.band), [.high, .low, .low])
        XCTAssertEqual(threats[1].settings.map(\.band), [.high, .high, .low])
        XCTAssertEqual(threats[0].siteRisk, .low, "secure aggregation stops CPL at the declared setting")
        XCTAssertEqual(threats[1].siteRisk, .high, "but not the imprint attack")
        XCTAssertEqual(r.overallRisk, .high)
        XCTAssertEqual(r.overallRisk, r.siteRisk, "the highest band among the threat models = the declared setting's band over every attack")
        XCTAssertEqual(threats[0].stoppedBy, ["secagg:clients=2", "laplace:level=100"])
        XCTAssertEqual(threats[1].stoppedBy, ["laplace:level=100"])
        XCTAssertEqual(threats[0].recommended, "secagg:clients=2", "against the eavesdropper alone the least noisy LOW setting")
        XCTAssertEqual(r.recommended, "laplace:level=100", "LOW against every attack of every threat model")
        let text = threats[1].summary(declared: r.declared)
        XCTAssertTrue(text.contains("HIGH at the declared setting (secagg:clients=2)") && text.contains("not stopped by: none (HIGH), secagg:clients=2 (HIGH)"), text)
        let notes = r.records.filter { $0.kind == .note }
        XCTAssertEqual(notes.count, 2)
        XCTAssertEqual(notes.map(\.band), ["LOW", "HIGH"])
        XCTAssertEqual(Set(r.records.map(\.position)).count, r.records.count, "positions stay unique")

        // In scope: the eavesdropper only, with no malicious-server attack: one verdict.
        d.attacks = [AttackEntry(label: "cpl", config: .defaults(for: .cpl))]
        d.threatModels = [.honestButCurious]
        let only = RiskAssessment.assess(trials: trials.filter { $0.attack == "cpl" }, utility: [], definition: d)
        XCTAssertEqual(only.threats?.map(\.threatModel), [.honestButCurious])
        XCTAssertEqual(only.overallRisk, .low)
        // A threat model in scope without any attack of it is "not assessed", not LOW.
        d.threatModels = nil
        let unassessed = try XCTUnwrap(RiskAssessment.assess(trials: trials.filter { $0.attack == "cpl" }, utility: [], definition: d).threats?[1])
        XCTAssertNil(unassessed.siteRisk)
        XCTAssertTrue(unassessed.summary(declared: "none").contains("not assessed"), unassessed.summary(declared: "none"))
    }
}


/// Both threat models through a real audit: the eavesdropper's batch label restoration and the malicious server's imprint
/// on the bundled images, without defence and under secure aggregation; the stored assessment keeps the per-threat
/// verdicts and the log a note for each.
final class ThreatModelAuditTests: XCTestCase {
    func testAuditAssessesEachThreatModelAndStoresIt() throws {
        let f = try AuditFixture()
        let file = try f.write("a.yaml", AuditFixture.yaml(attacks: "  - ilrg\n  - imprint: {bins: 64}\n",
                                                           defences: "  - none\n  - secagg:clients=2\n  - laplace:level=10\n",
                                                           extra: "fl:\n  batch_size: 2\n"))
        let store = try AuditStore(path: f.path("log.sqlite"))
        let result = try AuditFixture.run(file, store: store)
        let report = try XCTUnwrap(result.report)
        let threats = try XCTUnwrap(report.threats)
        XCTAssertEqual(threats.map(\.threatModel), [.honestButCurious, .maliciousServer])
        XCTAssertEqual(threats[0].attacks, ["ilrg"])
        XCTAssertEqual(threats[1].attacks, ["imprint"])
        // Two images of a batch in 64 bins: the imprint read-out is exact without defence, and secure aggregation
        // over two clients (4 images) does not stop it; iLRG restores the batch's labels (MEDIUM: labels, no image).
        XCTAssertEqual(threats[1].settings[0].band, .high)
        XCTAssertEqual(threats[1].settings[1].band, .high, "secure aggregation alone does not stop the imprint attack")
        XCTAssertFalse(threats[1].stoppedBy.contains("secagg:clients=2"))
        XCTAssertEqual(threats[0].siteRisk, .medium)
        XCTAssertEqual(report.overallRisk, .high, "the highest band among the threat models")
        XCTAssertEqual(report.overallRisk, threats.compactMap(\.siteRisk).max())
        // Stored as the audit finished, and read back equal; one note per threat model in the log.
        XCTAssertEqual(try store.assessment(audit: result.auditID).threats, threats)
        let notes = try store.recommendations(audit: result.auditID).filter { $0.kind == .note }
        XCTAssertEqual(notes.count, 2)
        XCTAssertTrue(notes[1].text.hasPrefix("Against a malicious server that modifies the model it sends (imprint): HIGH"), notes[1].text)
    }
}

/// One aggregation (CellStatistics) defines every per-cell figure for the CLI, the log, the risk model and the report.
final class CellStatisticsTests: XCTestCase {
    func score(_ ssim: Double, mse: Double, psnr: Double) -> ReconstructionScore {
        ReconstructionScore(mse: mse, psnr: psnr, ssim: ssim, success: ssim >= 0.9)
    }

    func testMeansCountsAndTheCappedPSNR() throws {
        var c = CellStatistics()
        c.add(score(1, mse: 0, psnr: .infinity), labelRecovered: true, labelInferred: true)
        c.add(score(0.5, mse: 0.01, psnr: 20), labelRecovered: false, labelInferred: true)
        XCTAssertEqual(c.images, 2)
        XCTAssertEqual(c.successes, 1)
        XCTAssertEqual(c.asr, 0.5)
        XCTAssertEqual(try XCTUnwrap(c.meanSSIM), 0.75, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(c.meanMSE), 0.005, accuracy: 1e-15)
        XCTAssertEqual(c.meanPSNR, 60, "an exact image counts as \(CellStatistics.psnrCap) dB, so the mean stays finite")
        XCTAssertEqual(c.maxSSIM, 1)
        XCTAssertEqual(c.labelLeakage, 0.5)
        XCTAssertNil(CellStatistics().meanPSNR, "no image, no mean")
    }

    /// A cell is the sum of its trials, whether built from images or from the trial rows the log stores.
    func testACellIsTheSumOfItsTrials() throws {
        var a = CellStatistics(), b = CellStatistics()
        a.add(score(0.25, mse: 0.04, psnr: 14), labelRecovered: true, labelInferred: true)
        b.add(score(0.75, mse: 0.02, psnr: 17), labelRecovered: true, labelInferred: true)
        b.add(score(0.5, mse: 0.03, psnr: .infinity), labelRecovered: false, labelInferred: true)
        let whole = a + b
        let rowB = CellStatistics(images: 2, successes: 0, labelsRecovered: 1, infersLabels: true, meanSSIM: b.meanSSIM, maxSSIM: b.maxSSIM,
                                  meanMSE: b.meanMSE, meanPSNR: b.meanPSNR, seconds: 0, applicable: true)
        XCTAssertEqual(try XCTUnwrap((a + rowB).meanPSNR), try XCTUnwrap(whole.meanPSNR), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(whole.meanSSIM), 0.5, accuracy: 1e-15)
        XCTAssertEqual(whole.images, 3)
        let na = CellStatistics(images: 1, successes: 0, labelsRecovered: 0, infersLabels: false, meanSSIM: nil, maxSSIM: nil,
                                meanMSE: nil, meanPSNR: nil, seconds: 4, applicable: false)
        XCTAssertEqual((whole + na).images, 3, "a trial where the attack did not apply adds its time only")
        XCTAssertEqual((whole + na).seconds, 4)
        let coded = try JSONDecoder().decode(CellStatistics.self, from: JSONEncoder().encode(whole))
        XCTAssertEqual(try XCTUnwrap(coded.meanPSNR), try XCTUnwrap(whole.meanPSNR), accuracy: 1e-12)
        XCTAssertEqual(coded.asr, whole.asr)
    }
}
