import Foundation

/// How the report writes numbers and dates: rounded for a reader, the same on every machine
/// (no locale, always UTC).
public enum ReportNumbers {
    /// A share in [0, 1] as a whole percentage; never rounds a non-zero share to "0%" or a share
    /// below one to "100%" ("<1%", "99%").
    public static func percent(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        let p = (x * 100).rounded()
        if p == 0 && x > 0 { return "<1%" }
        if p == 100 && x < 1 { return "99%" }
        return "\(Int(p))%"
    }

    /// "4 of 6" for a share of a count.
    /// A 95% interval of a rate, "21–94%".
    public static func interval(_ lower: Double, _ upper: Double) -> String {
        String(format: "%.0f–%.0f%%", lower * 100, upper * 100)
    }

    public static func count(_ share: Double, of total: Int) -> String {
        "\(Int((share * Double(total)).rounded())) of \(total)"
    }

    /// SSIM with two decimals; three when two would round an imperfect value up to "1.00".
    public static func ssim(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        if x < 1 && fixed(x, 2) == "1.00" { return x >= 0.9995 ? ">0.999" : fixed(x, 3) }
        return fixed(x, 2)
    }

    /// A mean squared error on [0, 1] values with two significant digits.
    public static func mse(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        if x == 0 { return "0" }
        if x >= 0.1 { return fixed(x, 2) }
        if x >= 0.001 { return fixed(x, 1 - Int(floor(log10(x)))) }
        return String(format: "%.1e", x)
    }

    /// Decibels with one decimal; nil is infinite.
    public static func decibels(_ x: Double?) -> String {
        guard let x else { return "∞" }
        guard x.isFinite else { return x > 0 ? "∞" : "-∞" }
        return fixed(x, 1) + " dB"
    }

    /// Seconds with about two significant digits.
    public static func seconds(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        if x < 1 { return fixed(x, 2) + " s" }
        if x < 10 { return fixed(x, 1) + " s" }
        return fixed(x, 0) + " s"
    }

    /// A wall-clock duration: "45 s", "3 min 20 s", "2 h 05 min".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "n/a" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(String(format: "%02d", s % 60)) s" }
        return "\(s / 3600) h \(String(format: "%02d", (s % 3600) / 60)) min"
    }

    /// Epsilon with three significant digits ("0.5", "8.03", "1200").
    public static func epsilon(_ x: Double) -> String {
        guard x.isFinite else { return "∞" }
        return x >= 1000 ? fixed(x, 0) : String(format: "%.3g", x)
    }

    /// Delta in short scientific form ("1e-05").
    public static func delta(_ x: Double) -> String { String(format: "%.0e", x) }

    /// Accuracy in [0, 1] as a percentage with one decimal ("84.0%").
    public static func accuracy(_ x: Double) -> String { fixed(x * 100, 1) + "%" }

    /// A signed difference with one decimal and a unit: "+3.0 pp", "-0.12".
    public static func signed(_ x: Double, decimals: Int, unit: String = "") -> String {
        let r = (x * pow(10, Double(decimals))).rounded() / pow(10, Double(decimals))
        let body = String(format: "%+.\(decimals)f", r == 0 ? 0 : r)
        return unit.isEmpty ? body : body + " " + unit
    }

    /// "5 March 2025, 14:03 UTC".
    /// "2026-12-03" (UTC).
    public static func shortDate(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: d)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    public static func longDate(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute], from: d)
        return "\(c.day!) \(months[c.month! - 1]) \(c.year!), \(String(format: "%02d:%02d", c.hour!, c.minute!)) UTC"
    }

    /// "5 March 2025".
    public static func day(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: d)
        return "\(c.day!) \(months[c.month! - 1]) \(c.year!)"
    }

    /// "2025-03-05T14:03:00Z".
    public static func iso(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `x` with a fixed number of decimals, "-0" written as "0".
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        let s = String(format: "%.\(decimals)f", x)
        return s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(s.dropFirst()) : s
    }

    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]
    private static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()
}
