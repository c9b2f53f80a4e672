import XCTest
@testable import Imaging

/// Bad files give one-line errors that name the file; nothing crashes.
final class ImagingErrorTests: XCTestCase {
    func error(reading name: String) -> ImagingError? {
        do { _ = try Fixture.image(name); return nil } catch { return error as? ImagingError }
    }

    func assertOneLine(_ e: ImagingError?, names path: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let e = e else { return XCTFail("no error", file: file, line: line) }
        XCTAssertTrue(e.description.contains(path), e.description, file: file, line: line)
        XCTAssertFalse(e.description.contains("\n"), e.description, file: file, line: line)
        XCTAssertEqual(e.localizedDescription, e.description, file: file, line: line)
    }

    func testMissingFile() {
        let e = error(reading: "does-not-exist.png")
        XCTAssertEqual(e, .missingFile(path: Fixture.path("does-not-exist.png")))
        assertOneLine(e, names: Fixture.path("does-not-exist.png"))
        XCTAssertTrue(e!.description.hasPrefix("missing file: "))
    }

    func testNotPNG() {
        let e = error(reading: "not_a_png.png")
        XCTAssertEqual(e, .notPNG(path: Fixture.path("not_a_png.png")))
        assertOneLine(e, names: Fixture.path("not_a_png.png"))
    }

    func testTruncatedCorruptAndEmpty() {
        for name in ["truncated.png", "bad_crc.png", "signature_only.png", "empty.png"] {
            let e = error(reading: name)
            guard case .corruptPNG(let path, let reason)? = e else { XCTFail("\(name): \(String(describing: e))"); continue }
            XCTAssertEqual(path, Fixture.path(name))
            XCTAssertFalse(reason.isEmpty)
            assertOneLine(e, names: Fixture.path(name))
        }
        XCTAssertTrue(error(reading: "truncated.png")!.description.contains("truncated"))
    }

    func testEveryTruncationOfAValidFileFailsCleanly() throws {
        let bytes = Array(try Data(contentsOf: Fixture.folder.appendingPathComponent("gradient16.png")))
        for n in 0..<bytes.count {       // every proper prefix, down to one missing the IEND CRC
            XCTAssertThrowsError(try RGBImage(pngData: Array(bytes.prefix(n)), name: "cut\(n)"), "prefix \(n)")
        }
        XCTAssertNoThrow(try RGBImage(pngData: bytes))
    }

    func testDirectoryIsUnreadable() {
        XCTAssertThrowsError(try RGBImage(path: Fixture.folder.path)) { e in
            guard case ImagingError.unreadable(let path, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(path, Fixture.folder.path)
        }
    }

    func testMessagesAreSingleLinesNamingTheSubject() {
        let all: [ImagingError] = [
            .missingFile(path: "/a.png"), .unreadable(path: "/a.png", reason: "permission denied"),
            .notPNG(path: "/a.png"), .corruptPNG(path: "/a.png", reason: "truncated PNG data"),
            .writeFailed(path: "/a.png", reason: "disk full"), .emptyFolder(path: "/a.png"),
            .noClassFolders(path: "/a.png"), .wrongSize(subject: "/a.png", expected: "32x32", actual: "64x64"),
            .badManifest(path: "/a.png", reason: "no 'file' column"),
        ]
        for e in all {
            XCTAssertTrue(e.description.contains("/a.png"), e.description)
            XCTAssertFalse(e.description.contains("\n"))
        }
        XCTAssertEqual(ImagingError.wrongSize(subject: "/a.png", expected: "32x32", actual: "64x64").description,
                       "wrong size: /a.png is 64x64, expected 32x32")
    }
}
