import Foundation
import SafeIO
import Mustache

/// The two Mustache templates of a report: `report.md.mustache` (the Markdown, the source of the
/// report) and `report.html.mustache` (the page around the Markdown's HTML rendering).
///
/// Where the built-in templates come from (`ReportTemplates.builtIn()`), first match wins:
/// 1. `templates/` of the source tree the binary was built in: the first folder above the executable
///    that holds `Package.swift` and `templates/report.md.mustache` (a development build picks up edits
///    without recompiling);
/// 2. `share/medpfl/templates/` beside an installed binary (`<prefix>/bin/medpfl`);
/// 3. the copy compiled into the binary (`BuiltinTemplates.swift`, generated from `templates/` by
///    `scripts/embed-templates.sh`; a test checks that they are equal), so an installed binary
///    always works.
/// A site's own copy is loaded with `ReportTemplates(directory:)` (`medpfl report --templates DIR`).
public struct ReportTemplates: Sendable {
    /// File name of the Markdown template.
    public static let markdownName = "report.md.mustache"
    /// File name of the HTML template.
    public static let htmlName = "report.html.mustache"

    public let markdown: MustacheTemplate
    public let html: MustacheTemplate
    /// Where they came from: a folder, or "built-in".
    public let origin: String

    /// Parses the two templates from text.
    /// - Throws: `ReportError.badTemplate` naming the template that does not parse.
    public init(markdown: String, html: String, origin: String) throws {
        MarkdownContentType.register()
        func parse(_ text: String, _ name: String) throws -> MustacheTemplate {
            do { return try MustacheTemplate(string: text) } catch {
                throw ReportError.badTemplate("\(origin == "built-in" ? name : (origin as NSString).appendingPathComponent(name)) does not parse: \(error)")
            }
        }
        self.markdown = try parse(markdown, Self.markdownName)
        self.html = try parse(html, Self.htmlName)
        self.origin = origin
    }

    /// Loads `report.md.mustache` and `report.html.mustache` from `directory`.
    /// - Throws: `ReportError.badTemplate` when the folder or a template is missing or does not parse.
    public init(directory: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw ReportError.badTemplate("template folder \(directory) does not exist")
        }
        func read(_ name: String) throws -> String {
            let path = (directory as NSString).appendingPathComponent(name)
            let data: Data
            do { data = try BoundedFile.read(path, limit: BoundedFile.Limit.text, what: "template") } catch let e as FileError {
                throw ReportError.badTemplate(e.description)
            }
            guard let text = String(data: data, encoding: .utf8) else { throw ReportError.badTemplate("\(path) is not UTF-8 text") }
            return text
        }
        try self.init(markdown: read(Self.markdownName), html: read(Self.htmlName), origin: directory)
    }

    /// The templates compiled into the binary.
    public static func embedded() -> ReportTemplates {
        // The embedded text is checked by the test suite; failing to parse it is a build defect.
        try! ReportTemplates(markdown: BuiltinTemplates.markdown, html: BuiltinTemplates.html, origin: "built-in")
    }

    /// The built-in templates (see the type's documentation for the search order).
    /// - Throws: `ReportError.badTemplate` when a found `templates/` folder holds a broken template.
    public static func builtIn() throws -> ReportTemplates {
        if let dir = installedDirectory() { return try ReportTemplates(directory: dir) }
        return embedded()
    }

    /// The `templates/` folder found beside the executable (source tree or installed prefix), if any.
    public static func installedDirectory(executable: URL? = Bundle.main.executableURL) -> String? {
        guard let exe = executable?.resolvingSymlinksInPath() else { return nil }
        let fm = FileManager.default
        var dir = exe.deletingLastPathComponent()
        let share = dir.deletingLastPathComponent().appendingPathComponent("share/medpfl/templates")
        for _ in 0..<8 {
            let candidate = dir.appendingPathComponent("templates")
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
               fm.fileExists(atPath: candidate.appendingPathComponent(markdownName).path) {
                return candidate.path
            }
            let up = dir.deletingLastPathComponent()
            if up.path == dir.path { break }
            dir = up
        }
        if fm.fileExists(atPath: share.appendingPathComponent(markdownName).path) { return share.path }
        return nil
    }
}
