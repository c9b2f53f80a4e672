/// Escaping of control characters in text that came from users or files, so that it prints as one
/// inert line: C0/C1 controls, line and paragraph separators, and bidirectional overrides become
/// `\x1B` / `\u{202E}`. Used for terminal output (medpfl) and for error messages that quote input (Audit).
public enum ControlCharacters {
    /// `text` with every control character escaped; `keepLines` keeps newlines and tabs (whole outputs).
    public static func escaped(_ text: String, keepLines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepLines) }) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            if needsEscape(u, keepLines) {
                out += u.value < 0x100 ? "\\x" + hex(u.value, 2) : "\\u{" + hex(u.value, 4) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func needsEscape(_ u: Unicode.Scalar, _ keepLines: Bool) -> Bool {
        if keepLines && (u == "\n" || u == "\t") { return false }
        switch u.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        case .format: return (0x202A...0x202E).contains(u.value) || (0x2066...0x2069).contains(u.value) || u.value == 0x200E || u.value == 0x200F
        default: return false
        }
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
