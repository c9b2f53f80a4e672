import Foundation

/// How a grayscale DICOM frame's values are mapped to the [0, 1] the model sees (PS3.3 C.11.2).
public enum WindowChoice: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The file's own VOI: its VOI LUT Sequence, else its first window centre/width with its VOI LUT Function;
    /// for an enhanced multi-frame file, the frame's Frame VOI LUT. A file without any: the frame's min..max.
    case dicom
    /// The 0.5th to 99.5th percentile of the frame's values (after the modality LUT), linear between.
    case auto
    /// A window set by the audit (for example a lung window, center -600 width 1500), in modality units
    /// (Hounsfield units for CT), applied with the standard's LINEAR function.
    case explicit(center: Double, width: Double)

    /// What a command line's window option accepts, for its error message.
    public static let accepted = "dicom, auto or CENTER,WIDTH with WIDTH >= 1"

    /// Parses `dicom`, `auto` or `CENTER,WIDTH` (the command line's form).
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "dicom" { self = .dicom; return }
        if t == "auto" { self = .auto; return }
        let parts = t.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let c = parts[0], let w = parts[1], c.isFinite, w.isFinite, w >= 1 else { return nil }
        self = .explicit(center: c, width: w)
    }

    public var description: String {
        switch self {
        case .dicom: return "dicom"
        case .auto: return "auto"
        case .explicit(let c, let w): return "\(ReportableNumber.text(c)),\(ReportableNumber.text(w))"
        }
    }
}

/// Short decimal text for numbers in facts (no trailing ".0" for integers).
enum ReportableNumber {
    static func text(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

/// The modality LUT of PS3.3 C.11.1: stored values to modality units (Hounsfield units for CT).
enum ModalityTransform: Equatable {
    case identity
    case rescale(slope: Double, intercept: Double)
    /// A Modality LUT Sequence table: `first` is the first stored value mapped, `table` its outputs.
    case table(first: Int, values: [Double], bits: Int)

    func apply(_ x: Double) -> Double {
        switch self {
        case .identity: return x
        case .rescale(let m, let b): return x * m + b
        case .table(let first, let values, _):
            let i = min(max(Int(x.rounded(.down)) - first, 0), values.count - 1)
            return values[i]
        }
    }
}

/// The VOI transform of PS3.3 C.11.2, scaled to [0, 1].
enum VOITransform: Equatable {
    enum Function: String { case linear = "LINEAR", linearExact = "LINEAR_EXACT", sigmoid = "SIGMOID" }
    case window(center: Double, width: Double, function: Function)
    /// A VOI LUT Sequence table; outputs divided by 2^bits - 1.
    case table(first: Int, values: [Double], bits: Int)
    /// Linear between two values, clamped (the frame's min..max, or the `auto` percentiles).
    case range(low: Double, high: Double)

    func apply(_ x: Double) -> Double {
        switch self {
        case .window(let c, let w, let f):
            switch f {
            case .linear:
                // C.11.2.1.2.1: y = ((x - (c - 0.5)) / (w - 1) + 0.5), clamped; w = 1 is a threshold at c - 0.5.
                if w <= 1 { return x <= c - 0.5 ? 0 : 1 }
                return min(max((x - (c - 0.5)) / (w - 1) + 0.5, 0), 1)
            case .linearExact:
                return min(max((x - c) / w + 0.5, 0), 1)
            case .sigmoid:
                return 1 / (1 + exp(-4 * (x - c) / w))
            }
        case .table(let first, let values, let bits):
            let i = min(max(Int(x.rounded(.down)) - first, 0), values.count - 1)
            return values[i] / (pow(2, Double(bits)) - 1)
        case .range(let lo, let hi):
            return hi > lo ? min(max((x - lo) / (hi - lo), 0), 1) : 0
        }
    }
}

extension VOITransform {
    /// The VOI an explicit or `auto` choice gives for a frame's (modality) `values`, with how it is reported; nil for
    /// `.dicom`, whose meaning depends on the file (DICOM: its VOI; NIfTI: cal_min..cal_max).
    static func chosen(_ choice: WindowChoice, values x: [Double]) -> (VOITransform, DICOMImage.WindowUsed)? {
        switch choice {
        case .explicit(let c, let w):
            return (.window(center: c, width: w, function: .linear),
                    DICOMImage.WindowUsed(kind: "window", center: c, width: w, function: "LINEAR"))
        case .auto:
            let sorted = x.sorted()
            let lo = percentile(sorted, 0.5), hi = percentile(sorted, 99.5)
            return (.range(low: lo, high: hi), DICOMImage.WindowUsed(kind: "auto", low: lo, high: hi))
        case .dicom:
            return nil
        }
    }
}

/// The percentile `p` (0...100) of `sorted` values, linearly interpolated (numpy's default method).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let pos = p / 100 * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
}
