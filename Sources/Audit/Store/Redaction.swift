import Foundation

/// What `--redact` hides in an audit's JSON: file names (they often hold record numbers) become stable pseudonyms,
/// `image-01`, `image-02`, … in the audit's sample order (sample by sample, image by image), and the data folder,
/// labels file and listed image paths become "(redacted)". The log itself keeps the relative paths: it stays on the
/// site's machine; redacted output is the one to share.
public struct Redaction: Sendable {
    /// Real text to its replacement, longest first (a name that contains another is replaced whole).
    public let replacements: [(String, String)]

    public init(config: ResolvedConfig) {
        var map: [(String, String)] = []
        var seen = Set<String>()
        var k = 0
        for s in config.samples.sorted(by: { $0.index < $1.index }) {
            for n in s.names where seen.insert(n).inserted {
                k += 1
                map.append((n, String(format: "image-%02d", k)))
            }
        }
        let d = config.definition.data
        for p in [d.folder, d.labels].compactMap({ $0 }) + (d.images ?? []).map(\.path) where seen.insert(p).inserted {
            map.append((p, "(redacted)"))
        }
        replacements = map.filter { !$0.0.isEmpty }.sorted { $0.0.count > $1.0.count }
    }

    /// `text` with every real name replaced.
    public func apply(_ text: String) -> String {
        var t = text
        for (real, pseudonym) in replacements where t.contains(real) { t = t.replacingOccurrences(of: real, with: pseudonym) }
        return t
    }

    /// A JSON document with every string value redacted; a string that is itself JSON (the stored `config_json`) is
    /// redacted inside and written back in the same canonical form (sorted keys).
    public func applyJSON(_ data: Data) throws -> Data {
        let tree = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return try JSONSerialization.data(withJSONObject: walk(tree), options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])
    }

    private func walk(_ v: Any) -> Any {
        switch v {
        case let s as String:
            if s.hasPrefix("{"), let d = s.data(using: .utf8), let inner = try? JSONSerialization.jsonObject(with: d),
               let out = try? JSONSerialization.data(withJSONObject: walk(inner), options: [.sortedKeys]) {
                return String(decoding: out, as: UTF8.self)
            }
            return apply(s)
        case let a as [Any]: return a.map(walk)
        case let m as [String: Any]: return Dictionary(uniqueKeysWithValues: m.map { (apply($0.key), walk($0.value)) })
        default: return v
        }
    }
}
