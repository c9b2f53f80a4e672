import Foundation
import SafeIO

/// Errors of the audit layer. `description` is always one line meant for the user.
public enum AuditError: Error, CustomStringConvertible, Equatable {
    /// Bad input: a malformed or inconsistent audit file, a missing image, a wrong audit id. Exit code 2.
    case input(String)
    /// The audit log refused a change (a finished audit is immutable, a database of another kind...).
    case store(String)

    public var description: String {
        switch self {
        case let .input(m): return m
        case let .store(m): return m
        }
    }

    /// True for errors caused by the user's input (the CLI exits with 2 for these).
    public var isInput: Bool { if case .input = self { return true } else { return false } }
}

/// A problem in an audit definition file, located by key path and line:
/// `audits/site.yaml:12: attacks[1].cpl.iteratons: unknown key ...`.
public struct DefinitionError: Error, CustomStringConvertible, Equatable {
    /// The YAML file.
    public let file: String
    /// 1-based line of the offending node, when known.
    public let line: Int?
    /// Dotted key path such as `data.samples` or `attacks[2].gradinv.tv` (empty for the whole file).
    public let keyPath: String
    /// What is wrong.
    public let message: String

    public init(file: String, line: Int?, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.keyPath = Self.oneLine(keyPath)
        // Messages quote values from the file: control characters (a newline inside a quoted value) are
        // escaped so that the error stays one line (found by FuzzTests).
        self.message = Self.oneLine(message)
    }

    static func oneLine(_ text: String) -> String { ControlCharacters.escaped(text) }

    public var description: String {
        var s = file
        if let l = line { s += ":\(l)" }
        s += ": "
        if !keyPath.isEmpty { s += "\(keyPath): " }
        return s + message
    }
}
