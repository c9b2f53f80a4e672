import Foundation
import Mustache

/// Escaping of user-supplied strings (site names, paths, labels) for each output language.
public enum Escaping {
    /// Characters that could start Markdown (CommonMark) syntax or break a pipe table.
    static let markdownSpecial: Set<Character> = ["\\", "`", "*", "_", "[", "]", "<", ">", "|", "&", "~", "#"]

    /// `s` as literal Markdown text: every character that could start Markdown syntax (emphasis, links,
    /// raw HTML, entities, code, table cells) is backslash-escaped, and line breaks become spaces so a
    /// value can never start a new block or break a table row. Rendered by CommonMark, the result shows
    /// exactly `s` (with raw HTML in `s` shown as text, never passed through).
    public static func markdown(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            if c.isNewline { out.append(" ") }
            else if markdownSpecial.contains(c) { out.append("\\"); out.append(c) }
            else { out.append(c) }
        }
        return out
    }

    /// `s` as HTML or XML text or attribute value (`&`, `<`, `>`, `"`, `'`).
    public static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A fenced code block holding `s` verbatim: the fence is longer than any run of backticks in `s`.
    /// A CSS string literal, quotes included, safe inside a `<style>` element: backslash and quote escaped, `<`, `>`,
    /// `&` and control characters as CSS hex escapes (so no `</style>` can close the element).
    public static func cssString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "<", ">", "&": out += "\\" + String(u.value, radix: 16) + " "
            default:
                if u.value < 0x20 || u.value == 0x7f { out += "\\" + String(u.value, radix: 16) + " " } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    public static func codeBlock(_ s: String) -> String {
        var longest = 0, run = 0
        for c in s { run = c == "`" ? run + 1 : 0; longest = max(longest, run) }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return fence + "\n" + s + "\n" + fence
    }

    /// `s` as a Markdown code span on one line (shown verbatim, HTML-escaped by the renderer). In a
    /// pipe table (`inTable`) a `|` is written `\|`, which the table reader turns back into `|`.
    public static func codeSpan(_ s: String, inTable: Bool = false) -> String {
        var one = s.replacingOccurrences(of: "\n", with: " ")
        if inTable { one = one.replacingOccurrences(of: "|", with: "\\|") }
        var longest = 0, run = 0
        for c in one { run = c == "`" ? run + 1 : 0; longest = max(longest, run) }
        let ticks = String(repeating: "`", count: longest + 1)
        let pad = one.hasPrefix("`") || one.hasSuffix("`") ? " " : ""
        return ticks + pad + one + pad + ticks
    }

    /// A name made of `[a-z0-9-]` only, for file names derived from ids ("laplace:level=100" ->
    /// "laplace-level-100"); never empty, never a path.
    public static func slug(_ s: String) -> String {
        var out = ""
        for u in s.lowercased().unicodeScalars {
            if ("a"..."z").contains(u) || ("0"..."9").contains(u) { out.unicodeScalars.append(u) }
            else if !out.isEmpty && !out.hasSuffix("-") { out += "-" }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "x" : String(out.prefix(60))
    }
}

/// The Mustache content type `MARKDOWN`: `{{value}}` is escaped with `Escaping.markdown`.
/// Templates select it with `{{% CONTENT_TYPE: MARKDOWN }}`; `{{{value}}}` stays verbatim.
struct MarkdownContentType: MustacheContentType {
    func escapeText(_ text: String) -> String { Escaping.markdown(text) }

    /// Registers the content type with swift-mustache (idempotent).
    static func register() { _ = registered }
    private static let registered: Void = MustacheContentTypes.register(MarkdownContentType(), named: "MARKDOWN")
}
