import Foundation

/// One chart of the report: its file name under `charts/`, its caption and its SVG.
public struct ReportChart: Sendable, Equatable {
    /// Path relative to the report folder, e.g. "charts/ssim-vs-noise.svg".
    public var path: String
    /// Alt text and caption.
    public var caption: String
    public var svg: String
}

extension ReportData.RiskLevel {
    /// The band's colour in badges, tables and charts (dark enough for white text).
    public var color: String {
        switch self {
        case .low: return "#1a7f37"
        case .medium: return "#9a6700"
        case .high: return "#cf222e"
        }
    }

    /// Grey for a setting no attack applied to.
    public static let notAssessedColor = "#57606a"
}

/// The risk curves: reconstruction quality and attack success against noise (one line per attack), and
/// test accuracy against noise (the privacy-utility trade-off), with the declared and recommended
/// settings marked. The x axis is the realised signal-to-noise ratio of the defended update in dB, so
/// every kind of defence (noise, clipping, pruning, quantisation) has a place on it; settings that leave
/// the update unchanged sit at the right, at "none".
public enum ReportCharts {
    /// Colour-blind-safe line colours (Okabe-Ito), one per attack in order.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// The charts for `data` (the accuracy chart only when test accuracy was measured).
    public static func make(_ data: ReportData) -> [ReportChart] {
        guard !data.settings.isEmpty, !data.rows.isEmpty else { return [] }
        let axis = NoiseAxis(data.settings)
        var out: [ReportChart] = []
        let threshold = data.metadata.successThreshold
        var ssim = base(data, axis, title: "Reconstruction quality against noise", yLabel: "Mean SSIM (1 = perfect copy)",
                        yDomain: 0...1) { Ticks.label($0) }
        ssim.series = attackSeries(data, axis) { $0.meanSSIM }
        ssim.referenceLines = [.init(y: threshold, label: "success threshold (SSIM \(ReportNumbers.ssim(threshold)))")]
        out.append(ReportChart(path: "charts/ssim-vs-noise.svg",
                               caption: "Mean SSIM of the reconstructions against the update's signal-to-noise ratio, one line per attack",
                               svg: ssim.svg()))

        var asr = base(data, axis, title: "Attack success rate against noise", yLabel: "Images rebuilt (ASR, %)",
                       yDomain: 0...100) { ReportNumbers.fixed($0, 0) + "%" }
        asr.series = attackSeries(data, axis) { $0.asr * 100 }
        out.append(ReportChart(path: "charts/asr-vs-noise.svg",
                               caption: "Attack success rate (share of images rebuilt with SSIM at or above \(ReportNumbers.ssim(threshold))) against the update's signal-to-noise ratio",
                               svg: asr.svg()))

        if let acc = accuracyChart(data, axis) { out.append(acc) }
        return out
    }

    /// The privacy-utility chart: test accuracy per setting, points coloured by risk band.
    static func accuracyChart(_ data: ReportData, _ axis: NoiseAxis) -> ReportChart? {
        let measured = data.settings.filter { $0.testAccuracy != nil }
        guard !measured.isEmpty else { return nil }
        let values = measured.map { $0.testAccuracy! * 100 }
        let lo = max(0, floor((values.min()! - 5) / 10) * 10), hi = min(100, ceil((values.max()! + 5) / 10) * 10)
        var chart = base(data, axis, title: "Privacy-utility trade-off", yLabel: "Test accuracy (%)",
                         yDomain: lo...max(hi, lo + 10), highlightRecommended: false) { ReportNumbers.fixed($0, 0) + "%" }
        chart.series = [.init(name: "test accuracy (point colour = risk band)", color: "#444444",
                              points: measured.map { (axis.x($0), $0.testAccuracy! * 100) },
                              pointColors: measured.map { $0.band?.color ?? ReportData.RiskLevel.notAssessedColor })]
        let used = Set(measured.compactMap(\.band))
        chart.swatches = ReportData.RiskLevel.allCases.filter(used.contains).map { .init(label: "\($0.title) risk", color: $0.color) }
        if measured.contains(where: { $0.band == nil }) {
            chart.swatches.append(.init(label: "not assessed", color: ReportData.RiskLevel.notAssessedColor))
        }
        if let rec = data.recommendation?.setting.flatMap(data.setting), let a = rec.testAccuracy {
            chart.highlights = [.init(x: axis.x(rec), y: a * 100, label: "recommended: \(ReportNumbers.accuracy(a))")]
        }
        return ReportChart(path: "charts/accuracy-vs-noise.svg",
                           caption: "Test accuracy against the update's signal-to-noise ratio; each point is coloured by the risk band at that setting",
                           svg: chart.svg())
    }

    /// A chart with the shared x axis and the declared / recommended markers.
    static func base(_ data: ReportData, _ axis: NoiseAxis, title: String, yLabel: String, yDomain: ClosedRange<Double>,
                     highlightRecommended: Bool = true, format: @escaping @Sendable (Double) -> String) -> SVGLineChart {
        var c = SVGLineChart(title: title, xLabel: axis.label, yLabel: yLabel, xDomain: axis.domain,
                             yDomain: yDomain, yTickFormat: format)
        c.automaticXTicksUpTo = axis.automaticUpTo
        if let none = axis.nonePosition { c.extraXTicks = [(none, "none (∞)")] }
        let declared = data.setting(data.metadata.declaredSetting)
        let recommended = data.recommendation?.setting.flatMap(data.setting)
        if let d = declared {
            let same = recommended?.id == d.id
            c.markers.append(.init(x: axis.x(d), label: same ? "declared = recommended" : "declared", color: "#444444"))
        }
        if let r = recommended, r.id != declared?.id, highlightRecommended {
            c.markers.append(.init(x: axis.x(r), label: "recommended", color: "#1a7f37"))
        }
        return c
    }

    /// Mean SSIM or ASR per attack, one series each.
    static func attackSeries(_ data: ReportData, _ axis: NoiseAxis, _ value: (ReportData.Row) -> Double) -> [SVGLineChart.Series] {
        data.attacks.enumerated().compactMap { k, attack in
            let pts = data.settings.compactMap { s in
                data.row(attack: attack.id, setting: s.id).flatMap { $0.applied ? (axis.x(s), value($0)) : nil }
            }
            guard !pts.isEmpty else { return nil }
            return .init(name: attack.name, color: palette[k % palette.count], points: pts,
                         dash: k >= palette.count ? "8 4" : nil)
        }
    }
}

/// The shared x axis: realised SNR in dB, with unchanged updates (infinite SNR) at "none".
struct NoiseAxis {
    let domain: ClosedRange<Double>
    let nonePosition: Double?
    let automaticUpTo: Double
    let label = "Signal-to-noise ratio of the defended update (dB)  —  more noise ← → less noise"

    init(_ settings: [ReportData.Setting]) {
        let finite = settings.compactMap(\.snrDB).filter(\.isFinite)
        let lo = finite.min() ?? 0, hi = finite.max() ?? 0
        let span = hi - lo
        let gap = max(span * 0.15, 4)
        let hasNone = settings.contains { $0.snrDB == nil || !($0.snrDB!.isFinite) }
        nonePosition = hasNone ? hi + gap : nil
        let pad = max(span * 0.05, 1)
        domain = (lo - pad)...((nonePosition ?? hi) + pad)
        automaticUpTo = finite.isEmpty ? domain.lowerBound : (hasNone ? hi + gap * 0.45 : hi + pad)
    }

    /// Where a setting sits on the axis.
    func x(_ s: ReportData.Setting) -> Double {
        if let v = s.snrDB, v.isFinite { return v }
        return nonePosition ?? domain.upperBound
    }
}
