import XCTest
@testable import Imaging

/// The RFC 4180 cases medpfl's CSV files (labels, manifests) rely on.
final class CSVTableTests: XCTestCase {
    func testRFC4180Cases() throws {
        let t = try CSVTable(text: "path,label,note\r\na.dcm,ct,plain\r\n\"b,c.dcm\",mri,\"say \"\"hi\"\"\"\r\n\"d.dcm\",xray,\"two\r\nlines\"\r\n")
        XCTAssertEqual(t.header, ["path", "label", "note"])
        XCTAssertEqual(t.rows, [["a.dcm", "ct", "plain"], ["b,c.dcm", "mri", "say \"hi\""], ["d.dcm", "xray", "two\r\nlines"]])
        // LF line ends, no final line break, an empty field, a blank line skipped, short rows padded, long rows cut.
        let u = try CSVTable(text: "a,b\n1,\n\n2\n3,4,5")
        XCTAssertEqual(u.rows, [["1", ""], ["2", ""], ["3", "4"]])
        XCTAssertEqual(u.column("b"), 1)
        XCTAssertNil(u.column("c"))
        XCTAssertEqual(try CSVTable(text: "").header, [])
        // A row of one empty field reads as a blank line (skipped): CSV.swift does not tell `""` from nothing.
        XCTAssertEqual(try CSVTable(text: "x,y\n\"\",\"\"\n").rows, [["", ""]])
        // Unicode passes through unchanged.
        XCTAssertEqual(try CSVTable(text: "path,label\nrøntgen/é.dcm,thorax\n").rows, [["røntgen/é.dcm", "thorax"]])
    }

    func testAnUnterminatedQuoteIsRefused() {
        XCTAssertThrowsError(try CSVTable(text: "path,label\n\"a.dcm,ct\nb.dcm,mri\n")) { e in
            XCTAssertEqual(e as? CSVTable.Malformed, CSVTable.Malformed(reason: "a quoted field is not closed"))
        }
    }

    func testAFileWithAByteOrderMark() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bom-\(getpid()).csv")
        try Data([0xEF, 0xBB, 0xBF] + Array("path,label\na.png,1\n".utf8)).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let t = try CSVTable(path: url.path)
        XCTAssertEqual(t.header, ["path", "label"])
        XCTAssertEqual(t.rows, [["a.png", "1"]])
        try Data("path,label\n\"a.png,1\n".utf8).write(to: url)
        XCTAssertThrowsError(try CSVTable(path: url.path)) { e in
            XCTAssertEqual("\(e)", "unusable manifest \(url.path): a quoted field is not closed")
        }
    }
}
