import Foundation

/// Two audits side by side (e.g. before and after a model update or a change of defence).
public struct AuditComparison: Codable, Sendable {
    /// One attack against one defence setting in either audit.
    public struct Row: Codable, Sendable, Equatable {
        public var attack: String
        public var defence: String
        public var asrA: Double?
        public var asrB: Double?
        public var meanSSIMA: Double?
        public var meanSSIMB: Double?
        public var maxSSIMA: Double?
        public var maxSSIMB: Double?
        public var bandA: RiskBand?
        public var bandB: RiskBand?
        public var deltaASR: Double? { asrA.flatMap { a in asrB.map { $0 - a } } }
        public var deltaMeanSSIM: Double? { meanSSIMA.flatMap { a in meanSSIMB.map { $0 - a } } }
        /// "worse", "better", "same", "only in A", "only in B" or "not applicable".
        public var change: String {
            switch (bandA, bandB) {
            case let (a?, b?): return b > a ? "worse" : b < a ? "better" : "same"
            case (nil, nil): return (asrA == nil && asrB == nil) ? "not applicable" : "same"
            case (nil, _): return asrA == nil && meanSSIMA == nil ? "only in B" : "not applicable in A"
            case (_, nil): return asrB == nil && meanSSIMB == nil ? "only in A" : "not applicable in B"
            }
        }
    }
    /// What identifies each audit.
    public struct Side: Codable, Sendable {
        public var id: Int64
        public var site: String
        public var model: String
        public var modelVersion: String
        public var modelSHA256: String
        public var startedAt: Date
        public var status: AuditStatus
        public var siteRisk: RiskBand?
        public var declared: String
        public var recommended: String?
        public var recommendation: String
    }
    public var a: Side
    public var b: Side
    public var rows: [Row]
    /// Configuration keys whose values differ ("model.version: v1 -> v2"); empty when the settings are equal.
    public var settingDifferences: [String]

    /// Compares two audits of `store`.
    public static func compare(_ store: AuditStore, _ idA: Int64, _ idB: Int64) throws -> AuditComparison {
        let (ra, rb) = (try store.requireAudit(id: idA), try store.requireAudit(id: idB))
        let (pa, pb) = (try store.assessment(audit: idA), try store.assessment(audit: idB))
        func side(_ r: AuditRecord, _ p: RiskReport) -> Side {
            Side(id: r.id, site: r.site, model: r.model, modelVersion: r.modelVersion, modelSHA256: r.modelSHA256,
                 startedAt: r.startedAt, status: r.status, siteRisk: p.siteRisk, declared: p.declared,
                 recommended: p.recommended, recommendation: p.recommendation)
        }
        var rows: [Row] = []
        var order: [(String, String)] = []
        for p in [pa, pb] {
            for s in p.settings { for at in s.attacks where !order.contains(where: { $0 == (at.attack, s.defence) }) { order.append((at.attack, s.defence)) } }
        }
        for (attack, defence) in order {
            let x = pa.settings.first { $0.defence == defence }?.attacks.first { $0.attack == attack }
            let y = pb.settings.first { $0.defence == defence }?.attacks.first { $0.attack == attack }
            func used(_ r: AttackRisk?) -> AttackRisk? { (r?.applicableTrials ?? 0) > 0 ? r : nil }
            rows.append(Row(attack: attack, defence: defence, asrA: used(x)?.asr, asrB: used(y)?.asr,
                            meanSSIMA: used(x)?.meanSSIM, meanSSIMB: used(y)?.meanSSIM, maxSSIMA: used(x)?.maxSSIM,
                            maxSSIMB: used(y)?.maxSSIM, bandA: x?.band, bandB: y?.band))
        }
        return AuditComparison(a: side(ra, pa), b: side(rb, pb), rows: rows,
                               settingDifferences: differences(ra.configJSON, rb.configJSON))
    }

    /// Key paths whose values differ between two configuration JSON documents.
    static func differences(_ a: String, _ b: String) -> [String] {
        let (fa, fb) = (flatten(a), flatten(b))
        var out: [String] = []
        for key in Set(fa.keys).union(fb.keys).sorted() where fa[key] != fb[key] {
            let name = key.hasPrefix("definition.") ? String(key.dropFirst("definition.".count)) : key
            out.append("\(name): \(fa[key] ?? "(absent)") -> \(fb[key] ?? "(absent)")")
        }
        return out
    }

    static func flatten(_ json: String) -> [String: String] {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) else { return [:] }
        var out: [String: String] = [:]
        func walk(_ v: Any, _ path: String) {
            if let d = v as? [String: Any] {
                for (k, x) in d { walk(x, path.isEmpty ? k : "\(path).\(k)") }
            } else if let arr = v as? [Any], arr.allSatisfy({ !($0 is [String: Any]) && !($0 is [Any]) }) {
                out[path] = "[" + arr.map { "\($0)" }.joined(separator: ", ") + "]"
            } else if let arr = v as? [Any] {
                for (i, x) in arr.enumerated() { walk(x, "\(path)[\(i)]") }
            } else {
                out[path] = "\(v)"
            }
        }
        walk(obj, "")
        return out
    }
}
