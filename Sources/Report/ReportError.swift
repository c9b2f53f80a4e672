import Foundation

/// Why a report could not be made. The description is one line naming the problem.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    /// The data contradicts itself (a row names an unknown setting, a duplicate id, ...).
    case inconsistentData(String)
    /// A template is missing or does not parse.
    case badTemplate(String)
    /// An image in the data is not a readable PNG.
    case badImage(String)
    /// The output could not be written.
    case writeFailed(String)

    public var description: String {
        switch self {
        case let .inconsistentData(s): return "report data: \(s)"
        case let .badTemplate(s): return "report template: \(s)"
        case let .badImage(s): return "report image: \(s)"
        case let .writeFailed(s): return "report output: \(s)"
        }
    }
}

extension ReportData {
    /// Checks that ids are unique, that every row, reconstruction, recommendation and the declared
    /// setting refer to known attacks, settings and samples, and that rates lie in [0, 1].
    /// - Throws: `ReportError.inconsistentData` naming the first problem.
    public func validate() throws {
        func fail(_ s: String) -> ReportError { .inconsistentData(s) }
        func unique(_ ids: [String], _ what: String) throws {
            var seen = Set<String>()
            for id in ids where !seen.insert(id).inserted { throw fail("\(what) '\(id)' appears twice") }
        }
        try unique(attacks.map(\.id), "attack")
        try unique(settings.map(\.id), "setting")
        try unique(samples.map { String($0.index) }, "sample index")
        try unique(rows.map { $0.attack + "\u{0}" + $0.setting }, "row (attack x setting)")
        let attackIDs = Set(attacks.map(\.id)), settingIDs = Set(settings.map(\.id))
        let sampleIDs = Set(samples.map(\.index))
        guard settingIDs.contains(metadata.declaredSetting) else {
            throw fail("declared setting '\(metadata.declaredSetting)' is not among the tested settings")
        }
        if let s = recommendation?.setting, !settingIDs.contains(s) {
            throw fail("recommended setting '\(s)' is not among the tested settings")
        }
        for r in rows {
            guard attackIDs.contains(r.attack) else { throw fail("row names unknown attack '\(r.attack)'") }
            guard settingIDs.contains(r.setting) else { throw fail("row names unknown setting '\(r.setting)'") }
            for (name, v) in [("ASR", r.asr), ("label leakage", r.labelLeakage ?? 0)] where !(0...1).contains(v) {
                throw fail("\(name) \(v) of \(r.attack) at \(r.setting) is outside [0, 1]")
            }
            guard r.images > 0 else { throw fail("row \(r.attack) at \(r.setting) has no images") }
        }
        for s in settings {
            if let a = s.testAccuracy, !(0...1).contains(a) { throw fail("test accuracy \(a) of \(s.id) is outside [0, 1]") }
        }
        for r in reconstructions {
            guard attackIDs.contains(r.attack), settingIDs.contains(r.setting), sampleIDs.contains(r.sample) else {
                throw fail("reconstruction of sample \(r.sample) by \(r.attack) at \(r.setting) names an unknown attack, setting or sample")
            }
        }
        guard metadata.sampleSize >= 0, metadata.durationSeconds >= 0 else { throw fail("negative sample size or duration") }
    }
}
