import Attacks
import Evaluation
import Federated
import Metrics
import Foundation

/// Turns trial results into risk bands and a recommendation. Pure functions.
///
/// Band of one attack against one setting (thresholds from the audit file, defaults in brackets):
/// - HIGH if any image was rebuilt (SSIM >= `success_ssim` [0.9]) or the best SSIM >= `high_ssim` [0.9];
/// - HIGH also if the fraction of reconstructions that single out their patient (rank 1 among the
///   re-identification pool, by SSIM or by the model's features) reaches `reidentification` [0.5];
/// - MEDIUM if the best SSIM >= `medium_ssim` [0.5] or the fraction of labels recovered > `label_leakage` [0];
/// - LOW otherwise.
/// A setting's band is the worst over its attacks. The recommended setting is the one with the smallest
/// accuracy cost (within the budget) among those LOW for every attack; without utility runs, the LOW
/// setting with the least noise (highest SNR). The site's overall risk is the band of its declared setting.
/// The same rules are applied to each threat model in scope over its own attacks (`ThreatRisk`); the overall
/// risk is then the highest of those bands (`RiskReport.overallRisk`), the same value.
public enum RiskAssessment {
    /// The band of one attack's results.
    public static func band(successes: Int, maxSSIM: Double, labelLeakage: Double, reidentification: Double? = nil,
                            thresholds t: RiskThresholds) -> RiskBand {
        if successes > 0 || maxSSIM >= t.highSSIM { return .high }
        if let r = reidentification, r >= t.reidentificationRate { return .high }
        if maxSSIM >= t.mediumSSIM || labelLeakage > t.labelLeakage { return .medium }
        return .low
    }

    /// Aggregates the trials of one attack against one setting.
    public static func attackRisk(_ attack: String, _ trials: [TrialSummary], thresholds: RiskThresholds) -> AttackRisk {
        let used = trials.filter(\.applicable)
        // Not-applicable trials add only their seconds.
        let stats = CellStatistics.sum(trials.map(\.statistics))
        let images = stats.images, successes = stats.successes
        let maxSSIM = stats.maxSSIM ?? 0
        let leak = stats.labelLeakage ?? 0
        return AttackRisk(attack: attack, trials: trials.count, applicableTrials: used.count, images: images,
                          asr: stats.asr ?? 0, meanSSIM: stats.meanSSIM ?? 0, maxSSIM: maxSSIM, labelLeakage: leak,
                          band: used.isEmpty ? nil : band(successes: successes, maxSSIM: maxSSIM, labelLeakage: leak,
                                                          reidentification: stats.evidence.images > 0 ? stats.evidence.reidentified.estimate : nil,
                                                          thresholds: thresholds),
                          note: used.isEmpty ? trials.compactMap(\.note).first : nil, statistics: stats)
    }

    /// The full assessment, settings in the definition's order.
    public static func assess(trials: [TrialSummary], utility: [UtilityRunRecord], definition d: AuditDefinition) -> RiskReport {
        let t = d.thresholds
        let budget = d.utility?.maxAccuracyDrop
        let measured = !utility.isEmpty
        var settings: [SettingRisk] = []
        let baselineRun = utility.first { $0.defence == DefenceSpec.none.description }
        for spec in d.defences {
            let key = spec.description
            let mine = trials.filter { $0.defence == key }
            let attacks = d.attacks.map { a in attackRisk(a.label, mine.filter { $0.attack == a.label }, thresholds: t) }
            let run = utility.first { $0.defence == key }
            let snrs = mine.map(\.snr)
            let snr = snrs.isEmpty ? .infinity : snrs.reduce(0, +) / Double(snrs.count)
            var s = SettingRisk(defence: key, label: spec.label, band: attacks.compactMap(\.band).max(), attacks: attacks,
                                snr: snr, epsilon: mine.compactMap(\.epsilon).first, accuracy: run?.accuracy,
                                accuracyDrop: run?.drop, withinBudget: run.flatMap { r in budget.map { r.drop <= $0 } },
                                labelLeakage: attacks.map(\.labelLeakage).max() ?? 0, verdict: [])
            if let run { cost(&s, run: run, baseline: baselineRun, isNone: spec.isNone, budget: budget) }
            s.guarantee = spec.guarantee
            if let dp = spec.dp {
                s.epsilon = s.epsilon ?? dp.epsilon
                s.delta = dp.delta
                if let rounds = d.fl.rounds {
                    s.trainingEpsilon = spec.trainingEpsilon(rounds: rounds, sampleRate: d.fl.sampleRate)
                    s.trainingRounds = rounds
                    s.trainingSampleRate = d.fl.sampleRate ?? dp.sampleRate
                }
            }
            s.verdict = verdict(s, thresholds: t)
            settings.append(s)
        }
        let declared = d.declaredDefence.description
        var report = RiskReport(site: d.site, settings: settings, declared: declared,
                                siteRisk: settings.first { $0.defence == declared }?.band, recommended: nil,
                                recommendation: "", leastRisky: nil, utilityMeasured: measured, thresholds: t)
        recommend(&report, budget: budget)
        var threat: [String: ThreatModel] = [:]
        for a in d.attacks { threat[a.label] = a.config.kind.method.threatModel }
        report.threats = threats(settings, scope: d.threatModelsInScope, attackThreat: threat, declared: declared, site: d.site,
                                 utilityMeasured: measured, budget: budget, thresholds: t)
        return report
    }

    /// The accuracy figures of a setting from its utility run: accuracy with its interval, the paired drop against the
    /// run without defence, divergence, and whether the budget holds at the drop's 95% upper bound.
    static func cost(_ s: inout SettingRisk, run: UtilityRunRecord, baseline: UtilityRunRecord?, isNone: Bool, budget: Double?) {
        guard let e = run.evidence else { return }
        s.accuracyProportion = e.accuracy
        s.utilityRuns = e.runs.count
        s.divergence = e.divergence ?? baseline?.evidence?.divergence.map { "training without defence diverged (\($0)), so the drop is not meaningful" }
        if isNone {
            s.withinBudget = budget.map { _ in true }
            return
        }
        guard let b = baseline?.evidence, let paired = e.paired(against: b) else { return }
        s.pairedDrop = paired
        guard let budget, let upper = paired.interval?.upperBound, let drop = paired.drop else { return }
        s.withinBudget = upper <= budget
        if upper > budget, drop < budget { s.testImagesNeeded = paired.pairsNeeded(toShowWithin: budget) }
    }

    /// Fills `recommended`, `leastRisky` and `recommendation`.
    static func recommend(_ r: inout RiskReport, budget: Double?) {
        let low = r.settings.filter { $0.band == .low }
        // Least noise first: highest SNR, then the cheaper one.
        let byNoise: (SettingRisk, SettingRisk) -> Bool = { a, b in a.snr != b.snr ? a.snr > b.snr : (a.accuracyDrop ?? 0) < (b.accuracyDrop ?? 0) }
        if !low.isEmpty {
            if r.utilityMeasured {
                let costed = low.filter { $0.accuracyDrop != nil && $0.divergence == nil }
                // Within the budget only when the drop's 95% upper bound is (a small test set cannot show it).
                let affordable = costed.filter { budget == nil || $0.withinBudget == true }
                if let best = affordable.min(by: { a, b in a.accuracyDrop! != b.accuracyDrop! ? a.accuracyDrop! < b.accuracyDrop! : byNoise(a, b) }) {
                    r.recommended = best.defence
                    r.reason = .cheapestLowRisk
                    r.recommendation = "Recommended setting: \(best.defence) (\(best.label)). It is LOW risk against every attack tested "
                        + "and its accuracy cost, \(costText(best)), is the least of the LOW-risk settings"
                        + (budget.map { " (budget: \(points($0)))." } ?? ".")
                    return
                }
                if let b = budget, let told = costed.filter(\.budgetUndetermined).min(by: { $0.accuracyDrop! < $1.accuracyDrop! }) {
                    r.leastRisky = told.defence
                    r.reason = .budgetCannotBeTold
                    r.recommendation = "No LOW-risk setting is shown to be within the accuracy budget of \(points(b)): the test set cannot tell. "
                        + "The cheapest LOW-risk setting, \(told.defence) (\(told.label)), measured \(costText(told))"
                        + "; its upper bound is above the budget. About \(told.testImagesNeeded!) paired test images (now \(told.pairedDrop?.pairs ?? 0)) would be needed to tell."
                    return
                }
                if costed.isEmpty, let broken = low.first(where: { $0.divergence != nil }) {
                    r.leastRisky = broken.defence
                    r.reason = .noLowRiskWithinBudget
                    r.recommendation = "No setting can be recommended: training diverged with every LOW-risk setting (\(broken.defence): \(broken.divergence!)), "
                        + "so the model would not be usable with it."
                    return
                }
                if let cheapest = costed.min(by: { $0.accuracyDrop! < $1.accuracyDrop! }), let b = budget {
                    r.leastRisky = cheapest.defence
                    r.reason = .noLowRiskWithinBudget
                    r.recommendation = "No setting is both LOW risk and within the accuracy budget of \(points(b)). "
                        + "The cheapest LOW-risk setting, \(cheapest.defence) (\(cheapest.label)), costs \(points(cheapest.accuracyDrop!))."
                    return
                }
            }
            let best = low.sorted(by: byNoise)[0]
            r.recommended = best.defence
            r.reason = .leastNoiseLowRisk
            r.recommendation = "Recommended setting: \(best.defence) (\(best.label)). It is LOW risk against every attack tested "
                + "and, of the LOW-risk settings, adds the least noise to the updates (mean SNR \(snrText(best.snr)))"
                + (r.utilityMeasured ? "." : "; its accuracy cost was not measured.")
            return
        }
        let ranked = r.settings.filter { $0.band != nil }.sorted { a, b in
            if a.band! != b.band! { return a.band! < b.band! }
            let (am, bm) = (a.attacks.map(\.maxSSIM).max() ?? 0, b.attacks.map(\.maxSSIM).max() ?? 0)
            if am != bm { return am < bm }
            let (aa, ba) = (a.attacks.map(\.asr).max() ?? 0, b.attacks.map(\.asr).max() ?? 0)
            if aa != ba { return aa < ba }
            if a.labelLeakage != b.labelLeakage { return a.labelLeakage < b.labelLeakage }
            return byNoise(a, b)
        }
        guard let least = ranked.first else {
            r.reason = .noAttackApplied
            r.recommendation = "No attack applied to any tested setting, so no setting can be recommended."
            return
        }
        r.leastRisky = least.defence
        r.reason = .noLowRisk
        r.recommendation = "No tested setting is LOW risk against every attack. The least risky is " + riskText(least, r.thresholds)
        if least.withinBudget == false, let b = budget, let alt = ranked.first(where: { $0.withinBudget == true }) {
            r.recommendation += " It costs more accuracy than the budget of \(points(b)); within the budget the least risky is " + riskText(alt, r.thresholds)
        }
    }

    /// e.g. "prune:p=90 (prune 90% ...): MEDIUM risk (best SSIM 0.16, attack success up to 0%; accuracy cost ...)."
    static func riskText(_ s: SettingRisk, _ t: RiskThresholds) -> String {
        var why = "best SSIM \(fmt(s.attacks.map(\.maxSSIM).max() ?? 0)), attack success up to \(percent(s.attacks.map(\.asr).max() ?? 0))"
        if s.labelLeakage > t.labelLeakage { why += ", labels recovered up to \(percent(s.labelLeakage))" }
        if s.accuracyDrop != nil, s.accuracy != nil { why += "; accuracy cost \(costText(s))" }
        return "\(s.defence) (\(s.label)): \(s.band!.rawValue) risk (\(why))."
    }

    /// The cost of a setting with its interval and sample: "3.2 accuracy points (95% CI −4.1 to 10.5 points; 55% vs 58% without
    /// defence, paired over 93 test images in 3 training runs)"; `costText(_:accuracy:)` when no interval is known.
    public static func costText(_ s: SettingRisk) -> String {
        guard let drop = s.accuracyDrop, let acc = s.accuracy else { return "not measured" }
        guard let p = s.pairedDrop, let i = p.interval else {
            if let a = s.accuracyProportion, let ai = a.interval {
                let runs = s.utilityRuns ?? 1
                return "\(costText(drop, accuracy: acc)) [accuracy 95% CI \(pct1(ai.lowerBound))–\(pct1(ai.upperBound)) on \(a.total) test images"
                    + (runs > 1 ? " in \(runs) training runs]" : "]")
            }
            return costText(drop, accuracy: acc)
        }
        let runs = s.utilityRuns ?? 1
        let head = drop > 0 ? points(drop) : (drop == 0 ? "no accuracy lost" : "no accuracy lost (\(String(format: "%.1f", -drop * 100)) points gained)")
        let accCI = s.accuracyProportion?.interval.map { " (95% CI \(pct1($0.lowerBound))–\(pct1($0.upperBound)))" } ?? ""
        return "\(head) (95% CI \(signedPoints(i.lowerBound)) to \(signedPoints(i.upperBound)) points; \(percent(acc))\(accCI) vs \(percent(acc + drop)) without defence, "
            + "paired over \(p.pairs) test images" + (runs > 1 ? " in \(runs) training runs)" : ")")
    }

    static func signedPoints(_ x: Double) -> String { String(format: "%.1f", x * 100).replacingOccurrences(of: "-", with: "−") }
    static func pct1(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }

    /// "3.2 accuracy points (55% vs 58% without defence)", or "no accuracy lost (61% vs 58% without defence)".
    static func costText(_ drop: Double, accuracy: Double) -> String {
        let versus = "(\(percent(accuracy)) vs \(percent(accuracy + drop)) without defence)"
        return drop > 0 ? "\(points(drop)) \(versus)" : "no accuracy lost \(versus)"
    }

    /// The plain-language lines of a setting's verdict. Label leakage always has its own line.
    static func verdict(_ s: SettingRisk, thresholds t: RiskThresholds) -> [String] {
        var lines = ["\(s.defence) (\(s.label)): " + (s.band.map { "\($0.rawValue) risk." } ?? "no attack applied.")]
        for a in s.attacks {
            if a.band == nil {
                lines.append("\(a.attack): not applicable" + (a.note.map { " (\($0.replacingOccurrences(of: "not applicable: ", with: "")))" } ?? "") + ".")
            } else {
                lines.append("\(attackSentence(a)) -> \(a.band!.rawValue).")
            }
        }
        let leaks = s.attacks.filter { $0.band != nil }
        if leaks.isEmpty {
            lines.append("Label leakage: not measured (no attack applied).")
        } else {
            let parts = leaks.map { "\($0.attack) \(percent($0.labelLeakage))" }.joined(separator: ", ")
            let worst = leaks.map(\.labelLeakage).max() ?? 0
            lines.append("Label leakage: " + (worst == 0 ? "no attack recovered any true label." : "the attacker learns which class an image belongs to (\(parts) of labels recovered)."))
        }
        let reid = leaks.filter { $0.reidentified != nil }
        if !reid.isEmpty {
            let parts = reid.map(reidentificationText).joined(separator: "; ")
            let reached = reid.contains { ($0.reidentified?.estimate ?? 0) >= t.reidentificationRate }
            let pool = reid.map(\.evidence.poolSize).max() ?? 0
            lines.append("Re-identification (reconstructions whose patient's image ranks first among \(pool) of the site's images, by SSIM or by "
                         + "the model's features): \(parts)" + (reached ? "; at or above the threshold of \(percent(t.reidentificationRate)): HIGH." : "."))
        }
        let gains = leaks.compactMap { a in a.evidence.meanRDLV.map { "\(a.attack) \(String(format: "%+.2f", $0))" } }
        if !gains.isEmpty {
            lines.append("Gain over a blind guess (RDLV, SSIM relative to the pool's mean image): " + gains.joined(separator: ", ") + ".")
        }
        for a in leaks where a.evidence.notConverged > 0 {
            lines.append(notConvergedText(a))
        }
        if s.accuracyDrop != nil, s.accuracy != nil {
            let over = s.budgetUndetermined ? ", within the site's budget as measured, but the test set cannot show it (about \(s.testImagesNeeded!) test images would)."
                : s.withinBudget == false ? ", over the site's budget." : "."
            lines.append("Accuracy cost: \(costText(s))" + over)
            if let d = s.divergence { lines.append("Training diverged: \(d); the accuracy figures of this setting describe a broken model.") }
        } else {
            lines.append("Accuracy cost: not measured.")
        }
        lines.append(guaranteeText(s))
        return lines
    }

    /// The setting's guarantee in one line: for DP, epsilon for one update and over the declared training; otherwise why
    /// nothing is bounded.
    public static func guaranteeText(_ s: SettingRisk) -> String {
        guard let g = s.guarantee else {
            return s.epsilon.map { "Differential privacy: epsilon \(fmt($0)) for this release." } ?? "No formal guarantee."
        }
        switch g.kind {
        case .formal:
            let delta = s.delta.map { " at δ = \(String(format: "%.3g", $0))" } ?? ""
            var line = "Formal guarantee: (ε, δ)-differential privacy, ε = \(epsilonText(s.epsilon))\(delta) for one update (the examples of its batch)"
            if let rounds = s.trainingRounds, let q = s.trainingSampleRate {
                line += " and ε = \(epsilonText(s.trainingEpsilon)) over the site's training as declared (\(rounds) round\(rounds == 1 ? "" : "s") "
                    + "at sampling rate \(String(format: "%.3g", q)): any one example of the site)."
            } else {
                line += "; the whole training is not accounted, because the audit file does not declare fl.rounds."
            }
            return line + " " + g.reason
        case .heuristic, .none: return "No formal guarantee: " + g.reason
        }
    }

    /// Epsilon with three significant digits ("10.7", "1.2e+03"), "not stated" when nil.
    static func epsilonText(_ e: Double?) -> String {
        guard let e else { return "not stated" }
        return e.isInfinite ? "∞" : String(format: "%.3g", e)
    }

    /// e.g. "cpl rebuilt 5 of 6 images (attack success 83%, 95% CI 44–97%), mean SSIM 0.91, best SSIM 0.99".
    public static func attackSentence(_ a: AttackRisk) -> String {
        "\(a.attack) rebuilt \(Int((a.asr * Double(a.images)).rounded())) of \(a.images) images (attack success \(percent(a.asr))\(ci(a.successes))), "
            + "mean SSIM \(fmt(a.meanSSIM)), best SSIM \(fmt(a.maxSSIM))"
    }

    /// ", 95% CI 0–39%" (empty for an empty sample).
    static func ci(_ p: Proportion) -> String {
        guard let i = p.interval else { return "" }
        return ", 95% CI \(String(format: "%.0f", i.lowerBound * 100))–\(percent(i.upperBound))"
    }

    /// e.g. "gradinv 2 of 6 (33%, 95% CI 10–70%; top 5: 4 of 6)".
    public static func reidentificationText(_ a: AttackRisk) -> String {
        let e = a.evidence, r = e.reidentified
        return "\(a.attack) \(r.count) of \(r.total) (\(percent(r.estimate ?? 0))\(ci(r)); top 5: \(e.reidentifiedTop5.count) of \(e.reidentifiedTop5.total))"
    }

    /// The flag on trials stopped by their budget while the loss was still falling.
    public static func notConvergedText(_ a: AttackRisk) -> String {
        let e = a.evidence
        return "Not converged: \(e.notConverged) of \(e.judgedTrials) \(a.attack) trial\(e.judgedTrials == 1 ? "" : "s") stopped while the loss was still "
            + "falling (by more than \(percent(Convergence.maximumLateDrop)) over the last \(percent(Convergence.window)) of the iterations): "
            + "risk may be higher with a larger budget."
    }

    static func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
    static func percent(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
    static func points(_ x: Double) -> String { String(format: "%.1f accuracy points", x * 100) }
    static func snrText(_ x: Double) -> String { x.isInfinite ? "infinite: no noise" : String(format: "%.3g", x) }
}
