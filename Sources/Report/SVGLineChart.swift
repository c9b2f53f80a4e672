import Foundation

/// A small, dependency-free line chart written as standalone SVG: axes with ticks and units, one line
/// per series, a legend, dashed reference lines and labelled vertical markers (e.g. "declared",
/// "recommended"). Every text is XML-escaped. The SVG scales to its container (`viewBox`, no fixed
/// width), so it prints inside an A4 page.
public struct SVGLineChart: Sendable {
    /// One line.
    public struct Series: Sendable {
        public var name: String
        /// CSS colour of the line and its points.
        public var color: String
        /// Points, drawn in increasing x.
        public var points: [(x: Double, y: Double)]
        /// Per-point colours (same count as `points`), overriding `color` for the point markers.
        public var pointColors: [String]?
        /// Dash pattern of the line (SVG `stroke-dasharray`), nil for solid.
        public var dash: String?

        public init(name: String, color: String, points: [(x: Double, y: Double)], pointColors: [String]? = nil,
                    dash: String? = nil) {
            self.name = name
            self.color = color
            self.points = points
            self.pointColors = pointColors
            self.dash = dash
        }
    }

    /// A labelled vertical line at an x position.
    public struct Marker: Sendable {
        public var x: Double
        public var label: String
        public var color: String
        public init(x: Double, label: String, color: String) { self.x = x; self.label = label; self.color = color }
    }

    /// A dashed horizontal line at a y value.
    public struct ReferenceLine: Sendable {
        public var y: Double
        public var label: String
        public init(y: Double, label: String) { self.y = y; self.label = label }
    }

    /// A highlighted point (ring) with a label.
    public struct Highlight: Sendable {
        public var x: Double, y: Double
        public var label: String
        public init(x: Double, y: Double, label: String) { self.x = x; self.y = y; self.label = label }
    }

    /// A legend entry that is not a line (e.g. the colour of a risk band).
    public struct LegendSwatch: Sendable {
        public var label: String, color: String
        public init(label: String, color: String) { self.label = label; self.color = color }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// The x range shown (ticks are chosen inside it).
    public var xDomain: ClosedRange<Double>
    public var yDomain: ClosedRange<Double>
    /// Writes a y tick value ("0.5", "50%").
    public var yTickFormat: @Sendable (Double) -> String
    /// Extra x ticks with their own labels (e.g. "none" for an unchanged update); automatic ticks are
    /// drawn only up to `automaticXTicksUpTo`.
    public var extraXTicks: [(x: Double, label: String)] = []
    public var automaticXTicksUpTo: Double?
    public var series: [Series] = []
    public var markers: [Marker] = []
    public var referenceLines: [ReferenceLine] = []
    public var highlights: [Highlight] = []
    public var swatches: [LegendSwatch] = []

    public init(title: String, xLabel: String, yLabel: String, xDomain: ClosedRange<Double>,
                yDomain: ClosedRange<Double>, yTickFormat: @escaping @Sendable (Double) -> String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xDomain = xDomain
        self.yDomain = yDomain
        self.yTickFormat = yTickFormat
    }

    // Layout in viewBox units.
    static let width = 760.0, plotLeft = 72.0, plotRight = 736.0, plotTop = 74.0, plotBottom = 330.0
    /// A white outline behind text drawn over lines, so it stays legible.
    static let halo = " stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\""
    static let font = "font-family=\"Helvetica, Arial, sans-serif\""

    func px(_ x: Double) -> Double {
        let span = xDomain.upperBound - xDomain.lowerBound
        return Self.plotLeft + (span > 0 ? (x - xDomain.lowerBound) / span : 0.5) * (Self.plotRight - Self.plotLeft)
    }

    func py(_ y: Double) -> Double {
        let span = yDomain.upperBound - yDomain.lowerBound
        let t = span > 0 ? (y - yDomain.lowerBound) / span : 0.5
        return Self.plotBottom - min(max(t, -0.02), 1.02) * (Self.plotBottom - Self.plotTop)
    }

    /// The chart as an `<svg>` element.
    public func svg() -> String {
        let legend = legendItems()
        let legendRows = layoutLegend(legend)
        let height = Self.plotBottom + 62 + Double(legendRows.count) * 20
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(Self.width)) \(n(height))\" "
        s += "role=\"img\" aria-label=\"\(e(title))\" class=\"chart\" \(Self.font) font-size=\"13\">\n"
        s += "<title>\(e(title))</title>\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(n(Self.width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
        s += "<text x=\"\(n(Self.plotLeft))\" y=\"22\" font-size=\"16\" font-weight=\"bold\" fill=\"#1a1a1a\">\(e(title))</text>\n"
        s += axes()
        for r in referenceLines {
            let y = py(r.y)
            s += "<line x1=\"\(n(Self.plotLeft))\" y1=\"\(n(y))\" x2=\"\(n(Self.plotRight))\" y2=\"\(n(y))\" stroke=\"#555\" stroke-width=\"1\" stroke-dasharray=\"6 4\"/>\n"
            s += "<text x=\"\(n(Self.plotLeft + 6))\" y=\"\(n(y - 5))\" font-size=\"12\" fill=\"#333\"\(Self.halo)>\(e(r.label))</text>\n"
        }
        for (k, m) in markers.enumerated() {
            let x = px(m.x)
            s += "<line x1=\"\(n(x))\" y1=\"\(n(Self.plotTop))\" x2=\"\(n(x))\" y2=\"\(n(Self.plotBottom))\" stroke=\"\(m.color)\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"/>\n"
            let anchor = x > (Self.plotLeft + Self.plotRight) / 2 ? "end" : "start"
            let dx = anchor == "end" ? -4.0 : 4.0
            let y = Self.plotTop - 8 - Double(markers.count - 1 - k) * 15
            s += "<line x1=\"\(n(x))\" y1=\"\(n(y + 2))\" x2=\"\(n(x))\" y2=\"\(n(Self.plotTop))\" stroke=\"\(m.color)\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"/>\n"
            s += "<text x=\"\(n(x + dx))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\" font-size=\"12\" font-weight=\"bold\" fill=\"\(m.color)\">\(e(m.label))</text>\n"
        }
        for sr in series { s += line(sr) }
        for h in highlights {
            s += "<circle cx=\"\(n(px(h.x)))\" cy=\"\(n(py(h.y)))\" r=\"9\" fill=\"none\" stroke=\"#111\" stroke-width=\"2.5\"/>\n"
            let anchor = px(h.x) > (Self.plotLeft + Self.plotRight) / 2 ? "end" : "start"
            let dx = anchor == "end" ? -13.0 : 13.0
            s += "<text x=\"\(n(px(h.x) + dx))\" y=\"\(n(py(h.y) + 4))\" text-anchor=\"\(anchor)\" font-size=\"12\" font-weight=\"bold\" fill=\"#111\"\(Self.halo)>\(e(h.label))</text>\n"
        }
        s += legendSVG(legendRows, top: Self.plotBottom + 58)
        s += "</svg>"
        return s
    }

    func axes() -> String {
        var s = "<g class=\"axes\" fill=\"#333\">\n"
        for t in Ticks.nice(yDomain, count: 5) {
            let y = py(t)
            s += "<line x1=\"\(n(Self.plotLeft))\" y1=\"\(n(y))\" x2=\"\(n(Self.plotRight))\" y2=\"\(n(y))\" stroke=\"#e3e3e3\"/>\n"
            s += "<text x=\"\(n(Self.plotLeft - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\" font-size=\"12\">\(e(yTickFormat(t)))</text>\n"
        }
        let upper = automaticXTicksUpTo ?? xDomain.upperBound
        var xTicks: [(Double, String)] = []
        if upper > xDomain.lowerBound {
            xTicks = Ticks.nice(xDomain.lowerBound...upper, count: 7).map { ($0, Ticks.label($0)) }
        }
        xTicks += extraXTicks.map { ($0.x, $0.label) }
        for (t, label) in xTicks {
            let x = px(t)
            s += "<line x1=\"\(n(x))\" y1=\"\(n(Self.plotBottom))\" x2=\"\(n(x))\" y2=\"\(n(Self.plotBottom + 5))\" stroke=\"#333\"/>\n"
            s += "<text x=\"\(n(x))\" y=\"\(n(Self.plotBottom + 20))\" text-anchor=\"middle\" font-size=\"12\">\(e(label))</text>\n"
        }
        s += "<rect x=\"\(n(Self.plotLeft))\" y=\"\(n(Self.plotTop))\" width=\"\(n(Self.plotRight - Self.plotLeft))\" height=\"\(n(Self.plotBottom - Self.plotTop))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(n((Self.plotLeft + Self.plotRight) / 2))\" y=\"\(n(Self.plotBottom + 42))\" text-anchor=\"middle\" font-size=\"13\">\(e(xLabel))</text>\n"
        let cy = (Self.plotTop + Self.plotBottom) / 2
        s += "<text x=\"18\" y=\"\(n(cy))\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 \(n(cy)))\">\(e(yLabel))</text>\n"
        return s + "</g>\n"
    }

    func line(_ sr: Series) -> String {
        let order = sr.points.indices.sorted { sr.points[$0].x < sr.points[$1].x }
        guard !order.isEmpty else { return "" }
        var s = ""
        if order.count > 1 {
            let pts = order.map { "\(n(px(sr.points[$0].x))),\(n(py(sr.points[$0].y)))" }.joined(separator: " ")
            let dash = sr.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            s += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(sr.color)\" stroke-width=\"2.5\"\(dash)/>\n"
        }
        for i in order {
            let c = sr.pointColors?[i] ?? sr.color
            s += "<circle cx=\"\(n(px(sr.points[i].x)))\" cy=\"\(n(py(sr.points[i].y)))\" r=\"4.5\" fill=\"\(c)\" stroke=\"#fff\" stroke-width=\"1\"/>\n"
        }
        return s
    }

    enum LegendItem { case line(String, String, String?), swatch(String, String) }

    func legendItems() -> [LegendItem] {
        series.map { .line($0.name, $0.color, $0.dash) } + swatches.map { .swatch($0.label, $0.color) }
    }

    /// Rows of legend items with their x offsets (a rough text width of 7 units per character).
    func layoutLegend(_ items: [LegendItem]) -> [[(LegendItem, Double)]] {
        var rows: [[(LegendItem, Double)]] = [], row: [(LegendItem, Double)] = []
        var x = Self.plotLeft
        for item in items {
            let label: String
            switch item { case let .line(l, _, _), let .swatch(l, _): label = l }
            let w = 34 + 7 * Double(label.count)
            if x + w > Self.plotRight && !row.isEmpty { rows.append(row); row = []; x = Self.plotLeft }
            row.append((item, x))
            x += w + 10
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }

    func legendSVG(_ rows: [[(LegendItem, Double)]], top: Double) -> String {
        var s = "<g class=\"legend\">\n"
        for (r, row) in rows.enumerated() {
            let y = top + Double(r) * 20
            for (item, x) in row {
                switch item {
                case let .line(label, color, dash):
                    let d = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
                    s += "<line x1=\"\(n(x))\" y1=\"\(n(y - 4))\" x2=\"\(n(x + 24))\" y2=\"\(n(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"\(d)/>\n"
                    s += "<circle cx=\"\(n(x + 12))\" cy=\"\(n(y - 4))\" r=\"4\" fill=\"\(color)\"/>\n"
                    s += "<text x=\"\(n(x + 30))\" y=\"\(n(y))\" font-size=\"12\" fill=\"#1a1a1a\">\(e(label))</text>\n"
                case let .swatch(label, color):
                    s += "<circle cx=\"\(n(x + 12))\" cy=\"\(n(y - 4))\" r=\"6\" fill=\"\(color)\"/>\n"
                    s += "<text x=\"\(n(x + 24))\" y=\"\(n(y))\" font-size=\"12\" fill=\"#1a1a1a\">\(e(label))</text>\n"
                }
            }
        }
        return s + "</g>\n"
    }

    func e(_ s: String) -> String { Escaping.html(s) }
    /// Coordinates with at most one decimal, so the SVG text is stable and small.
    func n(_ v: Double) -> String { ReportNumbers.fixed(v, 1).replacingOccurrences(of: ".0", with: "", options: [.anchored, .backwards]) }
}

/// "Nice" axis ticks (steps of 1, 2, 2.5 or 5 times a power of ten).
enum Ticks {
    static func nice(_ range: ClosedRange<Double>, count: Int) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / Double(max(count - 1, 1))
        let mag = pow(10, floor(log10(raw)))
        // The candidate step nearest to the raw step (on a log scale).
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.min { abs(log($0 / raw)) < abs(log($1 / raw)) }!
        var out: [Double] = []
        var t = ceil(range.lowerBound / step - 1e-9) * step
        while t <= range.upperBound + step * 1e-9 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// A tick value in the fewest digits ("10", "2.5", "-5").
    static func label(_ v: Double) -> String {
        if v == v.rounded() { return ReportNumbers.fixed(v, 0) }
        let s = String(format: "%.3g", v)
        return s
    }
}
