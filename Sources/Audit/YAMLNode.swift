import Foundation
import SafeIO
import Yams

/// A node of a composed YAML document together with its key path, so that every typed read can fail
/// with the key path and the line (`Node.mark`) of the offending value.
struct YAMLNode {
    let node: Node
    /// Dotted key path from the document root (`model.bn`, `attacks[1].cpl.iterations`).
    let path: String
    let file: String

    var line: Int? { node.mark?.line }

    /// Reads and composes every document of a YAML file (documents separated by `---`); syntax errors
    /// become one-line `DefinitionError`s.
    static func loadAll(file: String) throws -> [YAMLNode] {
        let data: Data
        do { data = try BoundedFile.read(file, limit: BoundedFile.Limit.text, what: "audit file") } catch let e as FileError {
            throw DefinitionError(file: file, line: nil, keyPath: "", message: e.problem)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DefinitionError(file: file, line: nil, keyPath: "", message: "is not UTF-8 text")
        }
        // A NUL would cut strings short in C libraries (and a site name in the log): refused outright.
        if let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex(where: { $0.contains("\u{0}") }) {
            throw DefinitionError(file: file, line: line + 1, keyPath: "", message: "holds a NUL byte (audit files are text)")
        }
        var roots: [Node] = []
        do {
            var documents = try Yams.compose_all(yaml: text)
            while let d = documents.next() { roots.append(d) }
            if let e = documents.error { throw e }
        } catch let e as YamlError {
            throw syntaxError(e, file: file)
        } catch {
            throw DefinitionError(file: file, line: nil, keyPath: "", message: "YAML error: \(error)")
        }
        let nonEmpty = roots.filter { if case let .scalar(s) = $0 { return !s.string.isEmpty } else { return true } }
        guard !nonEmpty.isEmpty else { throw DefinitionError(file: file, line: nil, keyPath: "", message: "the audit file is empty") }
        return nonEmpty.map { YAMLNode(node: $0, path: "", file: file) }
    }

    private static func syntaxError(_ e: YamlError, file: String) -> DefinitionError {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { "\($0.text) " } ?? ""
            return DefinitionError(file: file, line: mark.line, keyPath: "", message: "YAML syntax error: \(ctx)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return DefinitionError(file: file, line: context.mark.line, keyPath: "",
                                   message: "key given twice in one mapping: \(duplicates.joined(separator: ", "))")
        default:
            let first = "\(e)".split(separator: "\n").first.map(String.init) ?? "\(e)"
            return DefinitionError(file: file, line: nil, keyPath: "", message: "YAML error: \(first)")
        }
    }

    func fail(_ message: String) -> DefinitionError {
        DefinitionError(file: file, line: line, keyPath: path, message: message)
    }

    func child(_ node: Node, key: String) -> YAMLNode {
        YAMLNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    var isNull: Bool {
        if case let .scalar(s) = node { return s.tag == Tag(.null) || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) }
        return false
    }

    private var shown: String {
        switch node {
        case let .scalar(s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The node as a mapping whose keys must all be in `allowed`.
    func mapping(allowed: [String]) throws -> YAMLMapping {
        guard case let .mapping(m) = node else { throw fail("expected a mapping with keys \(allowed.joined(separator: ", ")), got \(shown)") }
        var entries: [(String, YAMLNode)] = []
        for (k, v) in m {
            guard case let .scalar(ks) = k else {
                throw DefinitionError(file: file, line: k.mark?.line, keyPath: path, message: "keys must be plain names")
            }
            let key = ks.string
            guard allowed.contains(key) else {
                var msg = "unknown key '\(key)'"
                if let near = nearest(key, in: allowed) { msg += " (did you mean '\(near)'?)" }
                msg += "; known keys: \(allowed.joined(separator: ", "))"
                throw DefinitionError(file: file, line: k.mark?.line, keyPath: path.isEmpty ? key : "\(path).\(key)", message: msg)
            }
            entries.append((key, child(v, key: key)))
        }
        return YAMLMapping(owner: self, entries: entries)
    }

    /// The node as a list.
    func sequence() throws -> [YAMLNode] {
        guard case let .sequence(s) = node else { throw fail("expected a list, got \(shown)") }
        return s.enumerated().map { YAMLNode(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// A scalar as text (numbers and booleans are accepted as written).
    func string() throws -> String {
        guard case let .scalar(s) = node, !isNull else { throw fail("expected a text value, got \(isNull ? "nothing" : shown)") }
        return s.string
    }

    /// A whole number in `lower...upper`. No count, size or setting of an audit is sensibly beyond a
    /// billion, and the bound keeps every product of two of them far from overflowing (found by FuzzTests).
    func int(min lower: Int? = nil, max upper: Int = 1_000_000_000) throws -> Int {
        guard case let .scalar(s) = node, let v = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            throw fail("expected a whole number, got \(shown)")
        }
        if let lo = lower, v < lo { throw fail("must be at least \(lo), got \(v)") }
        if v > upper { throw fail("must be at most \(upper), got \(v)") }
        return v
    }

    func uint64() throws -> UInt64 {
        guard case let .scalar(s) = node, let v = UInt64(s.string.replacingOccurrences(of: "_", with: "")) else {
            throw fail("expected a non-negative whole number, got \(shown)")
        }
        return v
    }

    func double(where valid: (Double) -> Bool = { _ in true }, _ range: String = "") throws -> Double {
        guard case let .scalar(s) = node, let v = node.float ?? Double(s.string), v.isFinite else {
            throw fail("expected a number, got \(shown)")
        }
        guard valid(v) else { throw fail("must be \(range), got \(s.string)") }
        return v
    }

    /// The scalar, which must be one of `choices`.
    func choice(_ choices: [String]) throws -> String {
        let v = try string()
        guard choices.contains(v) else { throw fail("'\(v)' is not one of \(choices.joined(separator: ", "))") }
        return v
    }

    /// Closest allowed key by edit distance (at most 2 edits), for "did you mean".
    private func nearest(_ key: String, in allowed: [String]) -> String? {
        let scored = allowed.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}

/// A mapping's entries in file order, with typed accessors.
struct YAMLMapping {
    let owner: YAMLNode
    let entries: [(key: String, value: YAMLNode)]

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// The value of `key`, nil when absent or null.
    func optional(_ key: String) -> YAMLNode? {
        guard let v = entries.first(where: { $0.key == key })?.value, !v.isNull else { return nil }
        return v
    }

    func required(_ key: String) throws -> YAMLNode {
        guard let v = optional(key) else { throw owner.fail("missing required key '\(key)'") }
        return v
    }
}

/// Levenshtein distance (for suggestions only).
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    for i in 1...x.count {
        var cur = [i] + [Int](repeating: 0, count: y.count)
        for j in 1...y.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[y.count]
}
