import CCmark
import Foundation

/// Markdown to HTML with libcmark (CommonMark) in safe mode, plus GitHub-style pipe tables.
///
/// libcmark implements CommonMark only, which has no tables. Pipe tables are therefore found line by
/// line, as GitHub Flavored Markdown writes them: a header row and a delimiter row (`| --- | ---: |`)
/// that start after a blank line (or at the top), followed by rows up to the next blank line, outside
/// fenced code blocks. Everything else, and the content of every table cell, is rendered by libcmark.
/// Safe mode (`CMARK_OPT_DEFAULT`) replaces raw HTML with a comment and drops `javascript:` and similar
/// links, so no markup in a user string can reach the page. Tables inside lists or block quotes are not
/// recognised.
public enum MarkdownHTML {
    /// Renders `markdown` as an HTML fragment.
    public static func render(_ markdown: String) -> String {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out = "", chunk: [String] = []
        var fence: (Character, Int)? = nil
        var previousBlank = true
        var i = 0
        func flush() {
            if !chunk.isEmpty { out += cmark(chunk.joined(separator: "\n") + "\n") }
            chunk = []
        }
        while i < lines.count {
            let line = lines[i]
            if let f = fence {
                chunk.append(line)
                if closesFence(line, f) { fence = nil }
                i += 1
                continue
            }
            if let f = opensFence(line) {
                fence = f
                chunk.append(line)
                previousBlank = false
                i += 1
                continue
            }
            if previousBlank, i + 1 < lines.count, let aligns = tableStart(header: line, delimiter: lines[i + 1]) {
                flush()
                var body: [String] = []
                var j = i + 2
                while j < lines.count, !isBlank(lines[j]), lines[j].contains("|") { body.append(lines[j]); j += 1 }
                out += table(header: line, aligns: aligns, body: body)
                i = j
                previousBlank = false
                continue
            }
            previousBlank = isBlank(line)
            chunk.append(line)
            i += 1
        }
        flush()
        return out
    }

    /// libcmark's HTML for a Markdown document, in safe mode.
    public static func cmark(_ markdown: String) -> String {
        let bytes = Array(markdown.utf8)
        guard let html = cmark_markdown_to_html(bytes.map { CChar(bitPattern: $0) }, bytes.count, MEDPFL_CMARK_OPT_DEFAULT) else {
            return Escaping.html(markdown)
        }
        defer { free(html) }
        return String(cString: html)
    }

    /// The inline HTML of one table cell: rendered by libcmark as a paragraph. A zero-width space is put
    /// in front (as an entity, which counts as punctuation for emphasis) so that text such as "- 3" or
    /// "1." stays text instead of becoming a list; it is removed again afterwards.
    static func inline(_ cell: String) -> String {
        // As GitHub does, an escaped pipe is a plain pipe before inline parsing (also inside code spans).
        let text = cell.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\\|", with: "|")
        if text.isEmpty { return "" }
        let html = cmark("&#8203;" + text + "\n")
        let head = "<p>\u{200B}", tail = "</p>\n"
        guard html.hasPrefix(head), html.hasSuffix(tail) else { return Escaping.html(text) }
        return String(html.dropFirst(head.count).dropLast(tail.count))
    }

    enum Align: String { case none = "", left, center, right }

    /// The column alignments when `header` and `delimiter` start a table with equal column counts.
    static func tableStart(header: String, delimiter: String) -> [Align]? {
        guard leadingSpaces(header) < 4, header.contains("|"), delimiter.contains("-") else { return nil }
        let heads = cells(header), delims = cells(delimiter)
        guard heads.count == delims.count, !delims.isEmpty else { return nil }
        var aligns: [Align] = []
        for d in delims {
            let t = d.trimmingCharacters(in: .whitespaces)
            let core = t.trimmingCharacters(in: CharacterSet(charactersIn: ":"))
            guard !core.isEmpty, core.allSatisfy({ $0 == "-" }) else { return nil }
            switch (t.hasPrefix(":"), t.hasSuffix(":")) {
            case (true, true): aligns.append(.center)
            case (false, true): aligns.append(.right)
            case (true, false): aligns.append(.left)
            default: aligns.append(.none)
            }
        }
        return aligns
    }

    /// The cells of a table row: split at `|` not preceded by a backslash; outer pipes optional.
    static func cells(_ row: String) -> [String] {
        var t = row.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("|") { t.removeFirst() }
        if t.hasSuffix("|") && !t.hasSuffix("\\|") { t.removeLast() }
        var out: [String] = [], cur = ""
        var escaped = false
        for c in t {
            if c == "|" && !escaped { out.append(cur); cur = ""; continue }
            escaped = c == "\\" && !escaped
            cur.append(c)
        }
        out.append(cur)
        return out
    }

    static func table(header: String, aligns: [Align], body: [String]) -> String {
        func row(_ line: String, tag: String) -> String {
            var c = cells(line)
            if c.count < aligns.count { c += Array(repeating: "", count: aligns.count - c.count) }
            var s = "<tr>\n"
            for (k, a) in aligns.enumerated() {
                let style = a == .none ? "" : " style=\"text-align:\(a.rawValue)\""
                s += "<\(tag)\(style)>\(inline(c[k]))</\(tag)>\n"
            }
            return s + "</tr>\n"
        }
        var s = "<table>\n<thead>\n" + row(header, tag: "th") + "</thead>\n"
        if !body.isEmpty { s += "<tbody>\n" + body.map { row($0, tag: "td") }.joined() + "</tbody>\n" }
        return s + "</table>\n"
    }

    static func isBlank(_ line: String) -> Bool { line.allSatisfy { $0 == " " || $0 == "\t" } }

    static func leadingSpaces(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    static func opensFence(_ line: String) -> (Character, Int)? {
        guard leadingSpaces(line) < 4 else { return nil }
        let t = line.drop { $0 == " " }
        guard let c = t.first, c == "`" || c == "~" else { return nil }
        let n = t.prefix { $0 == c }.count
        guard n >= 3 else { return nil }
        if c == "`" && t.dropFirst(n).contains("`") { return nil }
        return (c, n)
    }

    static func closesFence(_ line: String, _ f: (Character, Int)) -> Bool {
        guard leadingSpaces(line) < 4 else { return false }
        let t = line.drop { $0 == " " }
        let n = t.prefix { $0 == f.0 }.count
        return n >= f.1 && t.dropFirst(n).allSatisfy { $0 == " " || $0 == "\t" }
    }
}
