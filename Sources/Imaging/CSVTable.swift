import CSV
import Foundation

/// A CSV table (RFC 4180): a header row, then records; quoted fields may hold commas, doubled quotes and line
/// breaks; lines end with LF or CRLF. Parsed by CSV.swift (yaslab/CSV.swift, from the package mirror); this type
/// adds what medpfl needs around it: a leading byte-order mark dropped, blank lines skipped (a row of one empty
/// field, `""` alone, reads as blank too), short rows padded and
/// long ones cut to the header, and an unterminated quoted field refused (CSV.swift would read it to the end of
/// the file).
public struct CSVTable: Sendable, Equatable {
    /// Column names from the first row.
    public let header: [String]
    /// The remaining rows, each padded or cut to `header.count` fields.
    public let rows: [[String]]

    /// Parses CSV text. Blank lines are skipped; a file without a header row gives an empty table.
    /// - Throws: `CSVTable.Malformed` for an unterminated quoted field.
    public init(text: String) throws {
        // In RFC 4180 a quote either encloses a field or is doubled inside one: a valid text has an even count.
        if text.unicodeScalars.reduce(0, { $0 + ($1 == "\"" ? 1 : 0) }) % 2 == 1 {
            throw Malformed(reason: "a quoted field is not closed")
        }
        var records: [[String]] = []
        let reader = try CSVReader(string: text, hasHeaderRow: false)
        while let r = reader.next() {
            if r.count == 1 && r[0].isEmpty { continue }
            records.append(r)
        }
        if let e = reader.error { throw Malformed(reason: "\(e)") }
        header = records.isEmpty ? [] : records.removeFirst()
        let n = header.count
        rows = records.map { r in
            r.count == n ? r : Array((r + [String](repeating: "", count: max(0, n - r.count))).prefix(n))
        }
    }

    /// Reads a CSV file (UTF-8; a leading byte-order mark is ignored).
    /// - Throws: `ImagingError.missingFile`, `.unreadable`, `.badManifest` (malformed CSV).
    public init(path: String) throws {
        let bytes = try readWholeFile(path)
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        do { try self.init(text: text) } catch let e as Malformed {
            throw ImagingError.badManifest(path: path, reason: e.reason)
        }
    }

    /// The index of the column called `name`, if any.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// CSV text that cannot be read.
    public struct Malformed: Error, Equatable { public let reason: String }
}
