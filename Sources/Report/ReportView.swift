import Foundation

/// What the Markdown template sees: every value already rounded and worded.
///
/// Plain `String` fields hold user or computed text and are escaped by the template (`{{name}}` under
/// the `MARKDOWN` content type); fields documented as Markdown are escaped here and inserted verbatim
/// (`{{{name}}}`). Templates reach fields by name through reflection, so the names below are the
/// template's vocabulary (see `templates/README.md`).
struct ReportView {
    struct KeyValue { let key: String; let value: String }
    struct SettingLine {
        let label: String, id: String, snr: String, epsilon: String, accuracy: String, band: String, role: String
        /// "formal (DP): ε 10.7; 8.03 over 100 rounds (δ = 1e-05)", "no formal guarantee", "no defence" (the ε alone, or "—",
        /// in older data).
        let guarantee: String
    }
    /// Why a setting carries no formal guarantee (or what its DP guarantee covers), under the settings table.
    struct GuaranteeLine { let label: String, guarantee: String, reason: String }
    struct ResultLine {
        let attack: String, asr: String, meanSSIM: String, maxSSIM: String, mse: String, psnr: String
        let leakage: String, seconds: String, band: String
        /// Re-identified at rank 1 ("2 of 6 (33%)", "—" where not measured), RDLV ("+1.20", "—").
        let reid: String, rdlv: String
    }
    struct ResultSection {
        let label: String, role: String?, facts: String
        /// One sentence per attack whose updates held several images: the figures of each intercepted update.
        let perUpdate: [String]
        let hasPerUpdate: Bool
        let lines: [ResultLine]
        /// One sentence per attack with trials stopped while the loss still fell.
        let unconverged: [String]
        let hasUnconverged: Bool
    }
    struct StripLine { let label: String, detail: String, path: String, alt: String }
    struct GridSection { let attack: String, configuration: String, strips: [StripLine] }
    struct Chart { let path: String, caption: String }
    struct AttackLine { let name: String, configuration: String, threatNote: String? }
    struct BandLine { let band: String, criterion: String }

    // Header and summary.
    let site: String, auditID: String, model: String, date: String, toolVersion: String
    let declaredLabel: String, declaredBand: String, declaredBandUpper: String
    /// Markdown.
    let verdict: String, labelLeakage: String, recommendation: String, accuracyCost: String, filing: String
    /// Markdown; absent ("") when not measured.
    let reidentification: String, hasReidentification: Bool
    /// One row per threat model in scope; `hasThreats` false for data without threat models.
    let threats: [ExecutiveSummary.ThreatLine]
    let hasThreats: Bool
    /// Markdown: who attacks, for the method section.
    let threatMethod: String
    // Audit details.
    let metadata: [KeyValue]
    /// Markdown (a fenced code block).
    let commandBlock: String
    let settings: [SettingLine]
    let guarantees: [GuaranteeLine]
    let hasGuarantees: Bool
    let results: [ResultSection]
    // Images.
    let redacted: Bool
    let hasGrids: Bool
    let noImagesKept: Bool
    let columns: String
    let grids: [GridSection]
    let hasMissingCells: Bool
    // Charts, comparison, method.
    let charts: [Chart]
    let hasCharts: Bool
    /// Which setting each point of the curves is, left to right.
    let chartPoints: String
    let comparison: ComparisonView?
    let attacks: [AttackLine]
    let threshold: String
    let bands: [BandLine]
    let utilityMethod: String?
    let limitations: [String]

    init(_ data: ReportData, images: ReportImages?, charts: [ReportChart], redacted: Bool) {
        let m = data.metadata
        let declared = data.setting(m.declaredSetting)!
        let recommended = data.recommendation?.setting
        site = m.site
        auditID = m.auditID
        model = m.model
        date = ReportNumbers.longDate(m.startedAt)
        toolVersion = m.toolVersion
        declaredLabel = declared.label
        declaredBand = ReportData.RiskLevel.title(declared.band)
        declaredBandUpper = declaredBand.uppercased()

        let summary = ExecutiveSummary(data)
        verdict = summary.verdict
        labelLeakage = summary.labelLeakage
        reidentification = summary.reidentification
        hasReidentification = !summary.reidentification.isEmpty
        recommendation = summary.recommendation
        accuracyCost = summary.accuracyCost
        filing = summary.filing
        threats = summary.threats
        hasThreats = !summary.threats.isEmpty
        threatMethod = summary.threatMethod

        var meta: [KeyValue] = [
            .init(key: "Site", value: m.site),
            .init(key: "Audit ID", value: m.auditID),
            .init(key: "Model", value: m.model),
            .init(key: "Model version", value: m.modelVersion ?? "not given"),
        ] + (m.modelFormat.map { [.init(key: "Model format", value: $0)] } ?? []) + (m.modelTensors.isEmpty ? [] : [
            .init(key: "Trainable tensors (the update)", value: "\(m.parameterCount.map { "\($0) values in " } ?? "")\(m.modelTensors.count) tensors: "
                  + m.modelTensors.prefix(12).joined(separator: ", ") + (m.modelTensors.count > 12 ? ", and \(m.modelTensors.count - 12) more" : "")),
        ]) + [
            .init(key: "Weights (SHA-256)", value: m.weightsSHA256 ?? "none: seeded initial weights"),
            .init(key: "Images attacked", value: "\(m.sampleSize), \(m.batchSize) per intercepted update"),
            .init(key: "Image source", value: m.dataSource),
            .init(key: "Declared defence setting", value: "\(declared.label) (\(declared.id))"),
            .init(key: "Success threshold", value: "SSIM at least \(ReportNumbers.ssim(m.successThreshold))"),
            .init(key: "Tool", value: "medpfl \(m.toolVersion)"),
            .init(key: "Seed", value: String(m.seed)),
            .init(key: "Started", value: "\(ReportNumbers.longDate(m.startedAt)) (\(ReportNumbers.iso(m.startedAt)))"),
            .init(key: "Duration", value: ReportNumbers.duration(m.durationSeconds)),
        ]
        if let u = data.utility { meta.append(.init(key: "Utility measurement", value: u.method)) }
        metadata = meta
        commandBlock = Escaping.codeBlock(m.command)

        func role(_ id: String) -> String? {
            switch (id == declared.id, id == recommended) {
            case (true, true): return "declared, recommended"
            case (true, false): return "declared"
            case (false, true): return "recommended"
            default: return nil
            }
        }
        settings = data.settings.map { s in
            SettingLine(label: s.label, id: Escaping.codeSpan(s.id, inTable: true), snr: ReportNumbers.decibels(s.snrDB),
                        epsilon: Self.epsilon(s), accuracy: Self.accuracy(s),
                        band: ReportData.RiskLevel.title(s.band), role: role(s.id) ?? "", guarantee: Self.guarantee(s))
        }
        // One line per distinct reason (the four Laplace levels share theirs), settings in table order.
        var grouped: [(labels: [String], guarantee: String, reason: String)] = []
        for s in data.settings {
            guard let g = s.guarantee, let reason = s.guaranteeReason, g != "no defence" else { continue }
            if let k = grouped.firstIndex(where: { $0.guarantee == g && $0.reason == reason }) { grouped[k].labels.append(s.label) }
            else { grouped.append(([s.label], g, reason)) }
        }
        guarantees = grouped.map { GuaranteeLine(label: $0.labels.joined(separator: "; "), guarantee: $0.guarantee, reason: $0.reason) }
        hasGuarantees = !guarantees.isEmpty
        results = data.settings.compactMap { s in
            let rows = data.rows(setting: s.id)
            guard !rows.isEmpty else { return nil }
            var facts = "Update SNR \(ReportNumbers.decibels(s.snrDB))" + (s.snrDB == nil ? " (update unchanged)" : "")
            facts += s.epsilon.map { " · DP ε = \(ReportNumbers.epsilon($0))" + (s.delta.map { " at δ = \(ReportNumbers.delta($0))" } ?? "") }
                ?? (s.guarantee.map { " · \($0)" } ?? " · not differentially private")
            if let t = s.trainingEpsilon, let r = s.trainingRounds {
                facts += " · ε over the declared training (\(r) rounds" + (s.trainingSampleRate.map { " at sampling rate \(ReportNumbers.epsilon($0))" } ?? "")
                    + ") = \(t.isInfinite ? "∞" : ReportNumbers.epsilon(t))"
            }
            if let g = s.guarantee, s.epsilon != nil { facts += " · \(g)" }
            if s.testAccuracy != nil {
                facts += " · test accuracy \(Self.accuracy(s))"
                if let n = s.testImages {
                    let runs = s.utilityRuns ?? 1
                    facts += runs > 1 ? " on \(n) test images over \(runs) training runs" : " on \(n) test images"
                }
            }
            if let c = s.accuracyCost { facts += " · accuracy cost \(c)" }
            if let d = s.divergence { facts += " · training diverged: \(d)" }
            facts += " · overall risk \(ReportData.RiskLevel.title(s.band))"
            if !s.leastProtected.isEmpty { facts += " · least protected tensors: " + s.leastProtected.joined(separator: ", ") }
            let perUpdate = rows.compactMap { r in Self.perUpdate(r, name: data.attack(r.attack)!.name) }
            let unconverged = rows.compactMap { r -> String? in
                guard r.applied, let e = r.evidence, e.notConverged > 0 else { return nil }
                return "\(data.attack(r.attack)!.name): \(e.notConverged) of \(e.judgedTrials) trials stopped while the loss was still falling "
                    + "(by more than 10% over the last 10% of the iterations): the risk may be higher with a larger budget."
            }
            return ResultSection(label: s.label, role: role(s.id), facts: facts, perUpdate: perUpdate, hasPerUpdate: !perUpdate.isEmpty, lines: rows.map { r in
                guard r.applied else {
                    return ResultLine(attack: data.attack(r.attack)!.name, asr: "—", meanSSIM: "—", maxSSIM: "—", mse: "—",
                                      psnr: "—", leakage: "—", seconds: "—",
                                      band: Self.notApplicable(r.note), reid: "—", rdlv: "—")
                }
                var asr = "\(ReportNumbers.percent(r.asr)) (\(ReportNumbers.count(r.asr, of: r.images)))"
                if let i = r.asrInterval, i.count == 2 { asr = "\(ReportNumbers.percent(r.asr)) (\(ReportNumbers.count(r.asr, of: r.images)), \(ReportNumbers.interval(i[0], i[1])))" }
                var reid = "—"
                if let e = r.evidence, e.scored > 0 {
                    reid = "\(e.reidentified) of \(e.scored)"
                    if e.interval.count == 2 { reid += " (\(ReportNumbers.interval(e.interval[0], e.interval[1])))" }
                }
                return ResultLine(attack: data.attack(r.attack)!.name, asr: asr,
                           meanSSIM: ReportNumbers.ssim(r.meanSSIM), maxSSIM: ReportNumbers.ssim(r.maxSSIM),
                           mse: ReportNumbers.mse(r.meanMSE), psnr: ReportNumbers.decibels(r.meanPSNR),
                           leakage: r.labelLeakage.map(ReportNumbers.percent) ?? "—",
                           seconds: ReportNumbers.seconds(r.secondsPerImage), band: ReportData.RiskLevel.title(r.band),
                           reid: reid, rdlv: r.evidence?.rdlv.map { String(format: "%+.2f", $0) } ?? "—")
            }, unconverged: unconverged, hasUnconverged: !unconverged.isEmpty)
        }

        self.redacted = redacted
        let imgs = redacted ? nil : images
        grids = (imgs?.grids ?? []).map { g in
            let attack = data.attack(g.attack)!
            return GridSection(attack: attack.name, configuration: attack.configuration, strips: g.strips.map { strip in
                guard let sid = strip.setting, let s = data.setting(sid), let r = data.row(attack: g.attack, setting: sid) else {
                    return StripLine(label: "Originals", detail: "the attacked images (\(imgs!.shown.map(\.className).joined(separator: ", ")))", path: strip.path,
                                     alt: "Original images")
                }
                return StripLine(label: s.label + (role(sid).map { " (\($0))" } ?? ""),
                                 detail: "mean SSIM \(ReportNumbers.ssim(r.meanSSIM)), \(ReportNumbers.count(r.asr, of: r.images)) rebuilt",
                                 path: strip.path, alt: "\(attack.name) reconstructions at \(s.label)")
            })
        }
        hasGrids = !grids.isEmpty
        noImagesKept = !redacted && grids.isEmpty
        let shown = imgs?.shown ?? []
        columns = shown.isEmpty ? "" :
            "\(shown.count) of \(data.samples.count) attacked images, the first in audit order (classes: \(shown.map(\.className).joined(separator: ", ")))"
        let shownIDs = Set(shown.map(\.index))
        let present = Set(data.reconstructions.filter { shownIDs.contains($0.sample) }.map { "\($0.attack)\u{0}\($0.setting)\u{0}\($0.sample)" })
        hasMissingCells = (imgs?.grids ?? []).contains { g in
            g.strips.compactMap(\.setting).contains { sid in shown.contains { !present.contains("\(g.attack)\u{0}\(sid)\u{0}\($0.index)") } }
        }

        self.charts = charts.map { Chart(path: $0.path, caption: $0.caption) }
        hasCharts = !charts.isEmpty
        let axisOrder = data.settings.enumerated().sorted { a, b in
            (a.element.snrDB ?? .infinity, a.offset) < (b.element.snrDB ?? .infinity, b.offset)
        }
        chartPoints = axisOrder.map { "\($0.element.label) (\(ReportNumbers.decibels($0.element.snrDB)))" }.joined(separator: "; ")
        comparison = ComparisonView(data)
        attacks = data.attacks.map { a in
            AttackLine(name: a.name, configuration: a.configuration, threatNote: a.threatModel.map { tm in
                "Threat model: \(tm)" + ((a.assumptions ?? []).isEmpty ? "." : "; it assumes " + a.assumptions!.joined(separator: ", ") + ".")
            })
        }
        threshold = ReportNumbers.ssim(m.successThreshold)
        bands = data.bands.sorted { $0.level < $1.level }.map { BandLine(band: $0.level.title, criterion: $0.criterion) }
        utilityMethod = data.utility?.method
        limitations = data.limitations
    }

    /// "iDLG: 3 updates of 8 images: rebuilt 8, 5 and 0; mean SSIM 0.97, 0.71 and 0.12; best update 8 of 8.", or nil
    /// when the row has no per-update figures. At most 12 updates are listed one by one.
    static func perUpdate(_ r: ReportData.Row, name: String) -> String? {
        guard let u = r.updates, !u.isEmpty else { return nil }
        func list(_ xs: [String]) -> String {
            let shown = Array(xs.prefix(12))
            let more = xs.count > 12 ? " and \(xs.count - 12) more" : ""
            if shown.count == 1 { return shown[0] + more }
            return more.isEmpty ? shown.dropLast().joined(separator: ", ") + " and " + shown.last! : shown.joined(separator: ", ") + more
        }
        let sizes = Set(u.map(\.images))
        let of = sizes.count == 1 ? "\(u[0].images) images" : "\(sizes.min()!)–\(sizes.max()!) images"
        var s = "\(name): \(u.count) intercepted update\(u.count == 1 ? "" : "s") of \(of): rebuilt \(list(u.map { String($0.rebuilt) }))"
        s += "; labels recovered \(list(u.map { String($0.labelsRecovered) }))"
        s += "; mean SSIM \(list(u.map { ReportNumbers.ssim($0.meanSSIM) }))"
        if let best = u.max(by: { ($0.rebuilt, $0.meanSSIM) < ($1.rebuilt, $1.meanSSIM) }), u.count > 1 {
            s += "; the most exposed update: \(best.rebuilt) of \(best.images) rebuilt"
        }
        return s + "."
    }

    /// "not applicable: <reason>" (a reason that already starts with "not applicable" is not repeated).
    static func notApplicable(_ note: String?) -> String {
        guard var n = note?.trimmingCharacters(in: .whitespaces), !n.isEmpty else { return "not applicable" }
        for prefix in ["not applicable:", "not applicable"] where n.lowercased().hasPrefix(prefix) {
            n = n.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
        }
        return n.isEmpty ? "not applicable" : "not applicable: \(n)"
    }

    /// "10.7 (δ = 1e-05)" for one update, "10.7; 85.2 over 100 rounds (δ = 1e-05)" with the declared training.
    static func epsilon(_ s: ReportData.Setting) -> String {
        guard let e = s.epsilon else { return "—" }
        var text = ReportNumbers.epsilon(e)
        if let t = s.trainingEpsilon, let r = s.trainingRounds {
            text += "; \(t.isInfinite ? "∞" : ReportNumbers.epsilon(t)) over \(r) round\(r == 1 ? "" : "s")"
        }
        return text + (s.delta.map { " (δ = \(ReportNumbers.delta($0)))" } ?? "")
    }

    /// The guarantee column: the kind, with DP's epsilon.
    static func guarantee(_ s: ReportData.Setting) -> String {
        guard let g = s.guarantee else { return s.epsilon == nil ? "—" : "DP: ε " + epsilon(s) }
        return s.epsilon == nil ? g : "\(g): ε \(epsilon(s))"
    }

    /// "61% (95% CI 44–76%)", "0% (diverged)", "—" when not measured.
    static func accuracy(_ s: ReportData.Setting) -> String {
        guard let a = s.testAccuracy else { return "—" }
        var text = ReportNumbers.accuracy(a)
        if let i = s.accuracyInterval, i.count == 2 {
            text += " (\(String(format: "%.1f", i[0] * 100))–\(ReportNumbers.accuracy(i[1])))"
        }
        if s.divergence != nil { text += " diverged" }
        return text
    }
}
