import Foundation

/// A small RFC 4180 CSV reader: a header row, then records; quoted fields may hold commas, doubled
/// quotes and line breaks; lines end with LF or CRLF.
public struct CSVTable: Sendable, Equatable {
    /// Column names from the first row.
    public let header: [String]
    /// The remaining rows, each padded or cut to `header.count` fields.
    public let rows: [[String]]

    /// Parses CSV text. Blank lines are skipped; a file without a header row gives an empty table.
    public init(text: String) {
        var records = CSVTable.parse(text)
        header = records.isEmpty ? [] : records.removeFirst()
        let n = header.count
        rows = records.map { r in
            r.count == n ? r : Array((r + [String](repeating: "", count: max(0, n - r.count))).prefix(n))
        }
    }

    /// Reads a CSV file (UTF-8; a leading byte-order mark is ignored).
    public init(path: String) throws {
        let bytes = try readWholeFile(path)
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        self.init(text: text)
    }

    /// The index of the column called `name`, if any.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false, fieldStarted = false
        let bytes = Array(text.utf8)
        var i = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }
        func endRecord() {
            endField()
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
            record.removeAll()
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b); i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else {
                switch b {
                case UInt8(ascii: "\"") where !fieldStarted && field.isEmpty: quoted = true; fieldStarted = true
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\r"):
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                    endRecord()
                case UInt8(ascii: "\n"): endRecord()
                default: field.append(b); fieldStarted = true
                }
            }
            i += 1
        }
        if !field.isEmpty || !record.isEmpty || fieldStarted { endRecord() }
        return records
    }
}
