import Foundation
import XCTest
@testable import SafeIO

final class SafeIOTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/safeio-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The parent of a path as NSString would give it, for the one-character relative paths on which
    /// swift-corelibs-foundation 6.3 traps; and a one-character relative folder is made (it crashed `report --out r`).
    func testParentDirectoryAndOneCharacterRelativeFolders() throws {
        let cases: [(String, String)] = [("r", ""), ("r/", ""), ("a/b", "a"), ("a/b/", "a"), ("a//b", "a"), ("/a", "/"), ("/", "/"),
                                         ("/x/r", "/x"), ("x/r", "x"), ("ab", ""), ("./r", "."), ("../r", "..")]
        for (path, parent) in cases { XCTAssertEqual(PrivateFile.parentDirectory(of: path), parent, path) }
        let cwd = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        try PrivateFile.makeDirectory("r")
        try PrivateFile.makeDirectory("s/")
        try PrivateFile.write(Data("x".utf8), to: "r/f")
        var st = stat()
        XCTAssertEqual(stat(dir + "/r", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        XCTAssertEqual(stat(dir + "/s", &st), 0)
        XCTAssertEqual(try String(contentsOfFile: dir + "/r/f", encoding: .utf8), "x")
    }

    func testBoundedReadRefusesFIFOWithoutBlocking() throws {
        let fifo = dir + "/pipe"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let t0 = Date()
        XCTAssertThrowsError(try BoundedFile.read(fifo, limit: 100, what: "image")) { e in
            XCTAssertTrue("\(e)".contains("not a regular file"), "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 2)
        XCTAssertThrowsError(try BoundedFile.read("/dev/zero", limit: 100)) { e in XCTAssertTrue("\(e)".contains("not a regular file")) }
        XCTAssertThrowsError(try BoundedFile.read(dir, limit: 100)) { e in XCTAssertTrue("\(e)".contains("is a folder")) }
        XCTAssertThrowsError(try BoundedFile.read(dir + "/none", limit: 100, what: "image")) { e in
            XCTAssertEqual("\(e)", "\(dir)/none: no such image")
        }
    }

    func testBoundedReadChecksTheSizeFirst() throws {
        let p = dir + "/big"
        try Data(count: 1000).write(to: URL(fileURLWithPath: p))
        XCTAssertEqual(try BoundedFile.read(p, limit: 1000).count, 1000)
        XCTAssertThrowsError(try BoundedFile.read(p, limit: 999, what: "audit file")) { e in
            XCTAssertTrue("\(e)".contains("the audit file is 1000 bytes, more than the 999 bytes"), "\(e)")
        }
        var total = 0
        try BoundedFile.stream(p, chunk: 64) { total += $0.count }
        XCTAssertEqual(total, 1000)
    }

    func testWritesAreOwnerOnlyAtomicAndNeverFollowALink() throws {
        let outside = dir + "/outside.txt"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside))
        chmod(outside, 0o644)
        let out = dir + "/out"
        try PrivateFile.makeDirectory(out + "/a/b")
        var st = stat()
        XCTAssertEqual(stat(out + "/a", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        XCTAssertEqual(symlink(outside, out + "/x.png"), 0)
        XCTAssertThrowsError(try PrivateFile.write(Data("evil".utf8), to: out + "/x.png")) { e in
            XCTAssertTrue("\(e)".contains("symbolic link"), "\(e)")
        }
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "keep")
        XCTAssertEqual(stat(outside, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o644, "the link's target must not be chmodded")

        let old = umask(0o022); defer { umask(old) }
        try PrivateFile.write("one", to: out + "/r.md")
        try PrivateFile.write("two", to: out + "/r.md")
        XCTAssertEqual(try String(contentsOfFile: out + "/r.md", encoding: .utf8), "two")
        XCTAssertEqual(stat(out + "/r.md", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let left = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".medpfl-") }
        XCTAssertEqual(left, [], "no temporary file is left behind")
        // A folder where the file should be: refused with the path, nothing else touched.
        try FileManager.default.createDirectory(atPath: out + "/d", withIntermediateDirectories: true)
        XCTAssertThrowsError(try PrivateFile.write("x", to: out + "/d")) { e in XCTAssertTrue("\(e)".hasPrefix(out + "/d: "), "\(e)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".medpfl-") }, [])
    }

    func testSweepRemovesOnlyTemporariesOfProcessesThatAreGone() throws {
        let me = ProcessIdentity.current
        XCTAssertTrue(me.isRunning)
        XCTAssertGreaterThan(me.startTicks, 0, "/proc/self/stat gives a start time")
        XCTAssertEqual(ProcessIdentity(token: me.token), me)
        // The same PID with another start time is a later process that reused the PID: not the owner.
        XCTAssertFalse(ProcessIdentity(pid: me.pid, startTicks: me.startTicks + 1, bootID: me.bootID).isRunning)
        XCTAssertFalse(ProcessIdentity(pid: me.pid, startTicks: me.startTicks, bootID: "another-boot").isRunning)

        let mine = dir + "/" + Temporaries.name("report")
        let stale = dir + "/.medpfl-report-\(me.pid)-\(me.startTicks + 7)-12345"
        let dead = dir + "/.medpfl-file-999999-1-5-report.md"
        for p in [mine, stale, dead] { try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true) }
        try Data().write(to: URL(fileURLWithPath: dir + "/.medpfl-other"))   // not ours by name: kept
        let removed = Set(Temporaries.sweep(dir))
        XCTAssertEqual(removed, [stale, dead])
        XCTAssertTrue(FileManager.default.fileExists(atPath: mine))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/.medpfl-other"))
        Temporaries.register(mine)
        Temporaries.removeAllAndContinue()
        XCTAssertFalse(FileManager.default.fileExists(atPath: mine))
    }

    /// A full disk at the file-writing layer (any machine): a one-line error that says so, the old file
    /// intact, no temporary left.
    func testAFullDiskLeavesTheOldFileAndNoPartialOne() throws {
        let p = dir + "/report.md"
        try PrivateFile.write("old", to: p)
        let saved = PrivateFile.systemWrite
        defer { PrivateFile.systemWrite = saved }
        var calls = 0
        PrivateFile.systemWrite = { fd, ptr, n in
            calls += 1
            if calls == 1 { return Foundation.write(fd, ptr, min(n, 3)) }
            errno = ENOSPC
            return -1
        }
        XCTAssertThrowsError(try PrivateFile.write(Data(count: 10_000), to: p)) { e in
            XCTAssertEqual((e as? FileError)?.noSpace, true)
            XCTAssertEqual("\(e)", "\(p): cannot write: no space left on the device (nothing was written)")
        }
        XCTAssertEqual(try String(contentsOfFile: p, encoding: .utf8), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["report.md"])
    }

    func testByteCounts() {
        XCTAssertEqual(byteCount(999), "999 bytes")
        XCTAssertEqual(byteCount(3 << 29), "1.5 GiB")
    }
}
