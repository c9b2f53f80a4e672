import Attacks
import Audit
import Evaluation
import Foundation

extension ReportData {
    /// The report data of audit `auditID` in `store`: its metadata and configuration, the risk
    /// assessment (`AuditStore.assessment`), per-cell means over its trials, its images, and the latest
    /// earlier finished audit of the same site for the comparison.
    ///
    /// An audit that is not finished can be reported; its status and the number of trials recorded are
    /// listed among the limitations.
    /// - Throws: `AuditError` when the audit does not exist or its log cannot be read.
    public init(store: AuditStore, auditID: Int64) throws {
        let record = try store.requireAudit(id: auditID)
        let config: ResolvedConfig
        do { config = try record.config() } catch {
            throw AuditError.store("audit \(auditID): its recorded configuration cannot be read (\(error))")
        }
        let d = config.definition
        let risk = try store.assessment(audit: auditID)
        let trials = try store.trials(audit: auditID)
        let utilityRuns = try store.utilityRuns(audit: auditID)
        let recon = try store.reconstructions(audit: auditID)

        let lastTrial = trials.map(\.recordedAt).max()
        let imagesPerSample = d.fl.batchSize
        var metadata = Metadata(
            auditID: String(record.id), site: record.site, model: record.model,
            modelVersion: record.modelVersion.isEmpty ? nil : record.modelVersion, weightsSHA256: record.modelSHA256,
            dataSource: d.data.folder ?? "\(d.data.images?.count ?? 0) images listed in the audit file",
            sampleSize: config.samples.reduce(0) { $0 + $1.names.count }, batchSize: imagesPerSample,
            toolVersion: record.toolVersion, seed: record.seed, startedAt: record.startedAt,
            durationSeconds: max(0, ((record.finishedAt ?? lastTrial) ?? record.startedAt).timeIntervalSince(record.startedAt)),
            command: record.commandLine, declaredSetting: risk.declared, successThreshold: d.thresholds.successSSIM)
        if let m = config.model {
            metadata.modelFormat = m.format
            metadata.parameterCount = m.parameterCount
            metadata.modelTensors = m.tensors.map { "\($0.name) (\($0.shape.isEmpty ? "scalar" : $0.shape.map(String.init).joined(separator: "x")))" }
        }
        if let digest = try store.digest(audit: auditID) {
            metadata.digest = digest.digest
            metadata.signedBy = digest.signedBy
        }

        let attacks = d.attacks.map(AuditAdapter.attack)
        let settings = risk.settings.map { s in
            var setting = Setting(id: s.defence, label: s.label, snrDB: AuditAdapter.decibels(s.snr), epsilon: s.epsilon,
                                  delta: s.epsilon == nil ? nil : trials.first { $0.defence == s.defence }?.effect.delta,
                                  testAccuracy: s.accuracy, band: s.band.map(AuditAdapter.level))
            setting.guarantee = s.guarantee?.label
            setting.guaranteeReason = s.guarantee?.reason
            setting.trainingEpsilon = s.trainingEpsilon
            setting.trainingRounds = s.trainingRounds
            setting.trainingSampleRate = s.trainingSampleRate
            if let a = s.accuracyProportion, let i = a.interval {
                setting.accuracyInterval = [i.lowerBound, i.upperBound]
                setting.testImages = a.total
            }
            setting.utilityRuns = s.utilityRuns
            if s.accuracyDrop != nil, s.accuracy != nil { setting.accuracyCost = RiskAssessment.costText(s) }
            setting.divergence = s.divergence
            // Per-tensor SNR of the setting's first recorded update: the tensors an attacker reads most clearly.
            if let effect = trials.first(where: { $0.defence == s.defence && !$0.effect.perTensorSNR.isEmpty })?.effect {
                setting.leastProtected = effect.perTensorSNR.filter { $0.snr.isFinite }.sorted { $0.snr > $1.snr }.prefix(3)
                    .map { "\($0.name) (\(ReportNumbers.decibels(AuditAdapter.decibels($0.snr))))" }
            }
            return setting
        }
        let rows = AuditAdapter.rows(risk, trials)

        var recommendation = Recommendation(setting: risk.recommended, rationale: AuditAdapter.rationale(risk, d))
        if risk.recommended == nil, let least = risk.leastRisky, let s = risk.settings.first(where: { $0.defence == least }) {
            recommendation.rationale += " The least risky is \(s.label) (\(s.defence)), rated \(RiskLevel.title(s.band.map(AuditAdapter.level)).lowercased())."
        }
        var utility: Utility? = nil
        if let u = d.utility, let base = utilityRuns.first?.baselineAccuracy {
            utility = Utility(baselineAccuracy: base, method: "federated training of \(u.rounds) rounds with \(u.clients) clients "
                + "(\(u.algorithm.rawValue), \(u.partition) split), accuracy on the \(Int((u.testFraction * 100).rounded()))% of the images held out")
        }

        // Images: sample k of the report is image j of batch i (k = i * batch + j), in audit order.
        let trialByID = Dictionary(uniqueKeysWithValues: trials.map { ($0.id, $0) })
        var samples: [Int: Sample] = [:]
        var reconstructions: [Reconstruction] = []
        for r in recon {
            guard let t = trialByID[r.trialID], t.sampleIndex < config.samples.count else { continue }
            let batch = config.samples[t.sampleIndex]
            let k = t.sampleIndex * imagesPerSample + r.imageIndex
            if samples[k] == nil {
                let name = r.imageIndex < batch.names.count ? batch.names[r.imageIndex] : ""
                let label = r.imageIndex < batch.labels.count ? batch.labels[r.imageIndex] : r.trueLabel
                samples[k] = Sample(index: k, className: AuditAdapter.className(name: name, label: label, data: d.data),
                                    png: r.originalPNG)
            }
            reconstructions.append(Reconstruction(attack: t.attack, setting: t.defence, sample: k, png: r.reconstructionPNG))
        }

        var limitations: [String] = []
        if risk.provenance == .assessedNow { limitations.append(AssessmentProvenance.assessedNow.inWords) }
        if record.status != .finished {
            limitations.append("This audit is \(record.status.rawValue): \(trials.count) of \(record.trialsPlanned) trials are recorded, so its results are incomplete.")
        }
        if let n = config.skippedUnreadable, n > 0 {
            limitations.append("\(n) unreadable image file\(n == 1 ? " was" : "s were") left out of the data (skip_unreadable: true); the audit covers the rest.")
        }
        if let shard = record.shard { limitations.append("This audit is shard \(shard) of a larger audit: it covers part of the grid only.") }
        if d.model.weights == nil {
            limitations.append("No weights file was given: the model had seeded initial weights, which usually leak more than trained ones.")
        }

        var previous: PreviousAudit? = nil
        if let p = try store.previousAudit(site: record.site, before: record.startedAt) {
            let pr = try store.assessment(audit: p.id)
            previous = PreviousAudit(auditID: String(p.id), startedAt: p.startedAt, toolVersion: p.toolVersion,
                                     declaredSetting: pr.declared,
                                     declaredBand: pr.settings.first { $0.defence == pr.declared }?.band.map(AuditAdapter.level),
                                     rows: AuditAdapter.rows(pr, try store.trials(audit: p.id)))
        }

        self.init(metadata: metadata, attacks: attacks, settings: settings, rows: rows, recommendation: recommendation,
                  utility: utility, bands: AuditAdapter.bands(d.thresholds),
                  samples: samples.keys.sorted().map { samples[$0]! }, reconstructions: reconstructions,
                  previous: previous, limitations: limitations)
        threats = risk.threats.map { list in
            list.map { t in
                Threat(id: t.threatModel.scopeName, description: t.threatModel.inWords, attacks: t.attacks,
                       declaredBand: t.siteRisk.map(AuditAdapter.level),
                       settingBands: t.settings.map { Threat.SettingBand(setting: $0.defence, band: $0.band.map(AuditAdapter.level)) },
                       recommended: t.recommended, rationale: t.recommendation)
            }
        }
    }
}

/// Conversions from the Audit layer's records to report values.
enum AuditAdapter {
    static func level(_ band: RiskBand) -> ReportData.RiskLevel {
        switch band {
        case .low: return .low
        case .medium: return .medium
        case .high: return .high
        }
    }

    /// A linear SNR ratio in dB; nil for an unchanged update (infinite SNR), -99 dB for a zero signal.
    static func decibels(_ snr: Double) -> Double? {
        guard snr.isFinite else { return nil }
        return snr > 0 ? 20 * log10(snr) : -99
    }

    /// The class of an image: its labels CSV's class, its ImageFolder sub-folder, else "class N".
    static func className(name: String, label: Int, data: DataSection) -> String {
        if data.labels != nil {
            if let c = data.classes, label >= 0, label < c.count { return c[label] }
            return "class \(label)"
        }
        // The class folder is the first component of the relative path (files may be nested below it).
        let parts = name.split(separator: "/")
        if data.folder != nil, parts.count >= 2 { return String(parts[0]) }
        return "class \(label)"
    }

    static func attack(_ e: AttackEntry) -> ReportData.Attack {
        let m = e.config.kind.method
        let name = e.label == m.key ? m.nameWithCitation : "\(e.label): \(m.nameWithCitation)"
        var a = ReportData.Attack(id: e.label, name: name, configuration: m.describe(e.config))
        a.threatModel = m.threatModel.scopeName
        a.assumptions = m.assumptions
        return a
    }

    /// One report row per attack x setting of an assessment, with means over the recorded trials.
    static func rows(_ risk: RiskReport, _ trials: [TrialRecord]) -> [ReportData.Row] {
        var byCell: [String: [TrialRecord]] = [:]
        for t in trials { byCell[t.defence + "\u{0}" + t.attack, default: []].append(t) }
        var rows: [ReportData.Row] = []
        for s in risk.settings {
            for a in s.attacks {
                let cell = byCell[s.defence + "\u{0}" + a.attack] ?? []
                guard !cell.isEmpty else { continue }
                // Every figure comes from the one aggregation (CellStatistics) the risk model used.
                let stats = a.statistics ?? CellStatistics.sum(cell.map { TrialSummary($0).statistics })
                var row = ReportData.Row(
                    attack: a.attack, setting: s.defence, images: max(a.images, 1), asr: a.asr, meanSSIM: a.meanSSIM,
                    maxSSIM: a.maxSSIM, meanMSE: stats.meanMSE ?? 0, meanPSNR: stats.meanPSNR,
                    labelLeakage: stats.infersLabels ? a.labelLeakage : nil,
                    secondsPerImage: stats.secondsPerImage, band: a.band.map(level), note: a.note)
                row.asrInterval = a.successes.interval.map { [$0.lowerBound, $0.upperBound] }
                let e = stats.evidence
                if e.images > 0 || e.judgedTrials > 0 {
                    let i = e.reidentified.interval
                    row.evidence = ReportData.Row.Evidence(reidentified: e.rank1Either, top5: e.top5Either, scored: e.images, pool: e.poolSize,
                                                           interval: i.map { [$0.lowerBound, $0.upperBound] } ?? [],
                                                           priorSSIM: e.meanPriorSSIM, rdlv: e.meanRDLV,
                                                           judgedTrials: e.judgedTrials, notConverged: e.notConverged)
                }
                // Per intercepted update, when updates hold several images (a batch, or secure aggregation's sum).
                let used = cell.filter(\.applicable).sorted { $0.sampleIndex < $1.sampleIndex }
                if used.contains(where: { $0.images > 1 }) {
                    row.updates = used.map { t in
                        ReportData.Row.Update(images: t.images, rebuilt: t.successes, labelsRecovered: t.labelsRecovered,
                                              meanSSIM: t.ssim ?? 0, maxSSIM: t.maxSSIM ?? 0)
                    }
                }
                rows.append(row)
            }
        }
        return rows
    }

    /// Why the recommended setting was chosen, following `RiskAssessment.recommend`.
    static func rationale(_ r: RiskReport, _ d: AuditDefinition) -> String {
        let budget = d.utility.map { " (the site accepts at most \(g($0.maxAccuracyDrop * 100)) points)" } ?? ""
        // The reason RiskAssessment chose (stored with the assessment); older stored assessments lack it.
        let reason = r.reason ?? (r.recommended != nil ? (r.utilityMeasured ? .cheapestLowRisk : .leastNoiseLowRisk)
                                  : r.settings.contains(where: { $0.band == .low }) ? .noLowRiskWithinBudget : .noLowRisk)
        switch reason {
        case .cheapestLowRisk: return "Of the settings rated low risk against every attack, it costs the least test accuracy\(budget)."
        case .leastNoiseLowRisk:
            return "Of the settings rated low risk against every attack, it adds the least noise; its accuracy cost was not measured."
        case .noLowRiskWithinBudget: return "Settings rated low risk exist, but none stays within the accuracy budget\(budget)."
        case .budgetCannotBeTold:
            return "Settings rated low risk exist and one measured within the accuracy budget\(budget), but the test set is too small to show "
                + "that its cost is within it (the upper end of its 95% interval is over the budget), so none is recommended."
        case .noLowRisk: return "No tested setting is rated low risk against every attack."
        case .noAttackApplied: return "No attack applied to any tested setting."
        }
    }

    /// The band rules in words, from the audit's thresholds (see `RiskAssessment`).
    static func bands(_ t: RiskThresholds) -> [ReportData.BandDefinition] {
        let labels = t.labelLeakage == 0 ? "no label was recovered" : "at most \(g(t.labelLeakage * 100))% of labels were recovered"
        let labelsOver = t.labelLeakage == 0 ? "at least one label was recovered" : "more than \(g(t.labelLeakage * 100))% of labels were recovered"
        return [
            .init(level: .low, criterion: "no image was rebuilt, the best SSIM stayed below \(ReportNumbers.ssim(t.mediumSSIM)) and \(labels)"),
            .init(level: .medium, criterion: "the best SSIM reached \(ReportNumbers.ssim(t.mediumSSIM)), or \(labelsOver)"),
            .init(level: .high, criterion: "at least one image was rebuilt (SSIM \(ReportNumbers.ssim(t.successSSIM)) or more), the best SSIM reached \(ReportNumbers.ssim(t.highSSIM)), "
                  + "or at least \(g(t.reidentificationRate * 100))% of the reconstructions re-identified their patient (the true image ranked first among the pool)"),
        ]
    }

    /// A number in the shortest form ("0.1", "1e-04", "300").
    static func g(_ x: Double) -> String { String(format: "%g", x) }
}
