import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Attacks
import XCTest
@testable import Report

/// The parts the report is made of: Markdown to HTML, escaping, number wording, the SVG chart.
final class ReportPartsTests: XCTestCase {
    /// The method notes say how many starts an attack makes and when, for each restart policy.
    func testStartRuleInWords() {
        var c = AttackConfig.defaults(for: .idlg)
        XCTAssertEqual(RestartRule.inWords(c), "up to 4 starts (another while no start's relative matching loss is at most "
                       + "1e-06 and no two starts ended within 10% of each other); the start with the lowest gradient loss is kept")
        c.restartPolicy = .onStall
        XCTAssertTrue(RestartRule.inWords(c).hasPrefix("up to 4 starts (another only after a start that stalled"))
        c.restarts = 1
        XCTAssertEqual(RestartRule.inWords(c), "1 start")
        XCTAssertEqual(RestartRule.inWords(AttackConfig.defaults(for: .gradinv)), "1 start")
    }

    func testPipeTablesBecomeTablesAndCellsStayInline() {
        let md = """
        Intro *text*.

        | Name | Value |
        | :--- | ---: |
        | **High** | - 3 |
        | a \\| b | `x\\|y` |
        | 1. not a list | [l](http://example.org) |

        After.
        """
        let html = MarkdownHTML.render(md)
        XCTAssertTrue(html.hasPrefix("<p>Intro <em>text</em>.</p>\n<table>\n<thead>\n<tr>\n<th style=\"text-align:left\">Name</th>\n"), html)
        XCTAssertTrue(html.contains("<td style=\"text-align:left\"><strong>High</strong></td>\n<td style=\"text-align:right\">- 3</td>"), html)
        XCTAssertTrue(html.contains("<td style=\"text-align:left\">a | b</td>"), html)
        XCTAssertTrue(html.contains("<td style=\"text-align:right\"><code>x|y</code></td>"), html)
        XCTAssertTrue(html.contains("<td style=\"text-align:left\">1. not a list</td>"), html)
        XCTAssertTrue(html.contains("<a href=\"http://example.org\">l</a>"), html)
        XCTAssertTrue(html.hasSuffix("</table>\n<p>After.</p>\n"), html)
    }

    func testNoTableInsideCodeFenceOrWithoutDelimiterRow() {
        let md = "```\n| a | b |\n| --- | --- |\n```\n\n| not | a table |\nsecond line\n"
        let html = MarkdownHTML.render(md)
        XCTAssertFalse(html.contains("<table>"), html)
        XCTAssertTrue(html.contains("<pre><code>| a | b |\n| --- | --- |\n</code></pre>"), html)
    }

    func testSafeModeDropsRawHTMLAndScriptLinks() {
        let html = MarkdownHTML.render("<script>alert(1)</script>\n\n[x](javascript:alert(1)) <b>b</b>\n")
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("<b>"))
        XCTAssertFalse(html.contains("javascript:"))
    }

    func testEscapingRoundTripsThroughCmark() {
        let hostile = "a*b*_c_ `d` <e> [f](g) | h & i # ~j~ \\ k\nl"
        let html = MarkdownHTML.render(Escaping.markdown(hostile) + "\n")
        XCTAssertEqual(html, "<p>" + Escaping.html(hostile.replacingOccurrences(of: "\n", with: " ")) + "</p>\n")
        XCTAssertEqual(Escaping.slug("dp:clip=4,sigma=0.5+prune:p=90"), "dp-clip-4-sigma-0-5-prune-p-90")
        XCTAssertEqual(Escaping.slug("../../etc/passwd"), "etc-passwd")
        XCTAssertEqual(Escaping.slug("///"), "x")
        XCTAssertEqual(Escaping.codeBlock("a ``` b"), "````\na ``` b\n````")
        XCTAssertEqual(Escaping.codeSpan("a|b", inTable: true), "`a\\|b`")
    }

    func testNumbersAreRoundedForReaders() {
        XCTAssertEqual(ReportNumbers.percent(0.75), "75%")
        XCTAssertEqual(ReportNumbers.percent(0.004), "<1%")
        XCTAssertEqual(ReportNumbers.percent(0.996), "99%")
        XCTAssertEqual(ReportNumbers.percent(1), "100%")
        XCTAssertEqual(ReportNumbers.count(0.75, of: 4), "3 of 4")
        XCTAssertEqual(ReportNumbers.ssim(0.9123), "0.91")
        XCTAssertEqual(ReportNumbers.ssim(0.996), "0.996")
        XCTAssertEqual(ReportNumbers.ssim(0.99991), ">0.999")
        XCTAssertEqual(ReportNumbers.ssim(1), "1.00")
        XCTAssertEqual(ReportNumbers.ssim(-0.0004), "0.00")
        XCTAssertEqual(ReportNumbers.mse(0.0297), "0.030")
        XCTAssertEqual(ReportNumbers.mse(0.00431), "0.0043")
        XCTAssertEqual(ReportNumbers.mse(0.00021), "2.1e-04")
        XCTAssertEqual(ReportNumbers.mse(0.1234), "0.12")
        XCTAssertEqual(ReportNumbers.decibels(nil), "∞")
        XCTAssertEqual(ReportNumbers.decibels(-3.46), "-3.5 dB")
        XCTAssertEqual(ReportNumbers.seconds(0.854), "0.85 s")
        XCTAssertEqual(ReportNumbers.seconds(128.4), "128 s")
        XCTAssertEqual(ReportNumbers.duration(754.2), "12 min 34 s")
        XCTAssertEqual(ReportNumbers.duration(7530), "2 h 05 min")
        XCTAssertEqual(ReportNumbers.epsilon(4.527), "4.53")
        XCTAssertEqual(ReportNumbers.delta(1e-5), "1e-05")
        XCTAssertEqual(ReportNumbers.accuracy(0.7417), "74.2%")
        XCTAssertEqual(ReportNumbers.signed(-0.004, decimals: 2), "+0.00")
        XCTAssertEqual(ReportNumbers.signed(-25, decimals: 0, unit: "pp"), "-25 pp")
        let d = Date(timeIntervalSince1970: 1_741_183_380)
        XCTAssertEqual(ReportNumbers.longDate(d), "5 March 2025, 14:03 UTC")
        XCTAssertEqual(ReportNumbers.iso(d), "2025-03-05T14:03:00Z")
    }

    func testChartsAreWellFormedSVGWithAxesLegendAndMarks() throws {
        let charts = ReportCharts.make(try ReportFixture.data())
        XCTAssertEqual(charts.map(\.path), ["charts/ssim-vs-noise.svg", "charts/asr-vs-noise.svg", "charts/accuracy-vs-noise.svg"])
        for c in charts {
            let parser = XMLParser(data: Data(c.svg.utf8))
            XCTAssertTrue(parser.parse(), "\(c.path) is not well-formed XML: \(String(describing: parser.parserError))")
            XCTAssertTrue(c.svg.contains("Signal-to-noise ratio of the defended update (dB)"), c.path)
            XCTAssertTrue(c.svg.contains(">none (∞)</text>"), "unchanged updates have their own tick")
            XCTAssertTrue(c.svg.contains(">declared</text>"), c.path)
        }
        XCTAssertTrue(charts[0].svg.contains(">iDLG (Zhao et al. 2020)</text>"), "legend")
        XCTAssertTrue(charts[0].svg.contains(">recommended</text>"))
        XCTAssertTrue(charts[0].svg.contains("success threshold (SSIM 0.90)"))
        XCTAssertTrue(charts[0].svg.contains(">Mean SSIM (1 = perfect copy)</text>"))
        XCTAssertTrue(charts[1].svg.contains(">100%</text>"))
        XCTAssertTrue(charts[2].svg.contains(">recommended: 74.2%</text>"))
        XCTAssertTrue(charts[2].svg.contains("fill=\"\(ReportData.RiskLevel.low.color)\""), "points coloured by band")
        // Ticks: nice steps inside the range.
        XCTAssertEqual(Ticks.nice(-12.9...16.1, count: 7), [-10, -5, 0, 5, 10, 15])
        XCTAssertEqual(Ticks.nice(0...1, count: 5), [0, 0.25, 0.5, 0.75, 1])
        XCTAssertEqual(Ticks.nice(0...100, count: 5), [0, 25, 50, 75, 100])
    }

    func testNoAccuracyChartWithoutUtilityAndNoComparisonWithoutPrevious() throws {
        var data = try ReportFixture.data()
        data.utility = nil
        for i in data.settings.indices { data.settings[i].testAccuracy = nil }
        data.previous = nil
        XCTAssertEqual(ReportCharts.make(data).count, 2)
        let r = ReportRenderer(templates: ReportTemplates.embedded())
        let md = r.markdown(data, images: nil, charts: ReportCharts.make(data), redacted: false)
        XCTAssertFalse(md.contains("## Comparison with the previous audit"))
        XCTAssertTrue(md.contains("- **Accuracy cost:** not measured in this audit."))
        XCTAssertTrue(md.contains("This audit kept no images"))
    }
}
