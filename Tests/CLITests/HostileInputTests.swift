import Foundation
import GRDB
import NN
import Tensor
import XCTest

/// The hostile and careless inputs of issue 13, one test per kind: each gets exit 2 and one line naming the
/// problem (or works as documented), never a crash, a hang, a write through a link, or a change to a log
/// that is only read.
extension CLITests {
    var image: String { Self.data.appendingPathComponent("ct/ct693_r00c01.png").path }

    /// Exit 2 and one line on stderr that contains `fragment`.
    func assertRefused(_ args: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.code, 2, "\(args): \(r.err)", file: file, line: line)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(fragment), "'\(r.err)' lacks '\(fragment)'", file: file, line: line)
        XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Backtrace"), r.err, file: file, line: line)
    }

    /// A tiny real audit file (one image, iDLG with 2 steps, two settings) in `tmp`.
    func tinyAudit(site: String = "Test Site", extra: String = "", folder: String? = nil) throws -> String {
        let f = tmp.appendingPathComponent("a-\(UUID().uuidString.prefix(6)).yaml").path
        try """
        site: \(site)
        seed: 5
        model:
          name: mlp
          version: v1
        data:
          folder: \(folder ?? Self.data.path)
          samples: 1
        attacks:
          - idlg: {iterations: 2, max_iter: 2}
        defences:
          - none
          - laplace:level=100
        \(extra)
        """.write(toFile: f, atomically: true, encoding: .utf8)
        return f
    }

    func testImpossibleSizesAreRefusedBeforeAnyWork() throws {
        let u = tmp.appendingPathComponent("u.safetensors").path
        try assertRefused(["update", "--model", "lenet", "--size", "100000", "--image", image, "--label", "0", "--out", u], "--size must be between 4 and 16384")
        try assertRefused(["update", "--model", "lenet", "--classes", "100000000", "--image", image, "--label", "0", "--out", u], "--classes must be between 2 and 100000")
        try assertRefused(["update", "--model", "lenet", "--size", "2000", "--classes", "50000", "--image", image, "--label", "0", "--out", u],
                          "this machine has")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--size", "100000", "--image", image, "--label", "0"], "--size must be between")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--size", "4", "--image", image, "--label", "0"], "smaller than SSIM's 11x11 window")
        try assertRefused(["attack", "--attack", "dlg", "--model", "resnet18", "--size", "32", "--bn", "train", "--image", image, "--label", "0"],
                          "Expected more than 1 value per channel when training")
        try assertRefused(["bench", "--only", "resnet18:1:32"], "Expected more than 1 value per channel when training")
        try assertRefused(["attack", "--attack", "dlg", "--model", "resnet18", "--size", "1024", "--batch", "64", "--bn", "eval",
                           "--images", Self.data.path, "--count", "64"], "needs about")
        try assertRefused(["report", "1", "--db", tmp.appendingPathComponent("none.sqlite").path, "--thumbnail", "100000"], "--thumbnail must be between 1 and 1024")
        let yaml = try tinyAudit().replacingOccurrences(of: "", with: "")
        let big = tmp.appendingPathComponent("big.yaml").path
        try (try String(contentsOfFile: yaml, encoding: .utf8)).replacingOccurrences(of: "  version: v1", with: "  version: v1\n  input_size: 100000")
            .write(toFile: big, atomically: true, encoding: .utf8)
        try assertRefused(["audit", big, "--db", tmp.appendingPathComponent("big.sqlite").path], "input size 100000 is larger than the 16384")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("big.sqlite").path) && false)
    }

    func testNumericOptionsAreValidatedWithOneLine() throws {
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--size", "-3", "--image", image, "--label", "0"], "--size must be between 4 and 16384 pixels, got -3")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--jobs", "0", "--image", image, "--label", "0"], "--jobs must be between 1 and 4096, got 0")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--threads", "-2", "--image", image, "--label", "0"], "--threads must be between 1 and 4096, got -2")
        try assertRefused(["bench", "--threads", "1,x"], "--threads expects thread counts between 1 and 256")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--threshold", "nan", "--image", image, "--label", "0"], "--threshold is an SSIM")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--count", "100000", "--images", Self.data.path], "--count must be between 1 and 10000")
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--count", "500", "--images", Self.data.path], "holds only 180 images")
        try assertRefused(["metrics", "--threshold", "2", "--candidate", image, "--reference", image], "--threshold is an SSIM")
        try assertRefused(["bench", "--reps", "0"], "--reps must be between 1")
        try assertRefused(["audit", try tinyAudit(), "--jobs", "0"], "--jobs must be between 1 and 4096, got 0")
        try assertRefused(["train", "--model", "lenet", "--images", Self.data.path, "--threads", "0"], "--threads must be between 1 and 4096, got 0")
    }

    func testNonFiniteWeightsAndUpdatesAreRefusedNamingTheTensor() throws {
        let m = try ModelZoo.make("lenet", classes: 6, size: 32)
        var state = m.initialState(seed: 1)
        var bad = state.parameters[2].scalars
        bad[7] = .nan
        state.parameters[2] = Tensor(shape: state.parameters[2].shape, data: bad)
        let w = tmp.appendingPathComponent("nan.safetensors").path
        try Safetensors.write(zip(m.parameterNames, state.parameters).map { ($0, $1) }, to: w)
        let name = m.parameterNames[2]
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--weights", w, "--image", image, "--label", "0"], "tensor '\(name)' holds NaN")
        try assertRefused(["train", "--model", "lenet", "--weights", w, "--images", Self.data.path, "--rounds", "1"], "tensor '\(name)' holds NaN")
        let audit = tmp.appendingPathComponent("nan.yaml").path
        try (try String(contentsOfFile: try tinyAudit(), encoding: .utf8)).replacingOccurrences(of: "  name: mlp", with: "  name: lenet\n  weights: \(w)")
            .write(toFile: audit, atomically: true, encoding: .utf8)
        try assertRefused(["audit", audit, "--db", tmp.appendingPathComponent("nan.sqlite").path], "holds NaN")
        // A captured update with an infinite value.
        let u = tmp.appendingPathComponent("u.safetensors").path
        XCTAssertEqual(try run(["update", "--model", "lenet", "--image", image, "--label", "0", "--out", u]).code, 0)
        let stored = try Safetensors.read(u)
        var tensors = stored.names.map { ($0, stored.tensors[$0]!.tensor) }
        var v = tensors[0].1.scalars
        v[0] = .infinity
        tensors[0].1 = Tensor(shape: tensors[0].1.shape, data: v)
        try Safetensors.write(tensors, metadata: stored.metadata, to: u)
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--update", u], "holds an infinite value")
    }

    func testOutputsNeverFollowALinkPlantedInTheOutputFolder() throws {
        let outside = tmp.appendingPathComponent("outside.txt").path
        try "keep".write(toFile: outside, atomically: true, encoding: .utf8)
        chmod(outside, 0o644)
        let dir = tmp.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertEqual(symlink(outside, dir + "/000-reconstruction.png"), 0)
        try assertRefused(["attack", "--attack", "dlg", "--model", "lenet", "--iterations", "1", "--quiet", "--image", image, "--label", "0", "--out", dir],
                          "symbolic link")
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "keep")
        var st = stat()
        stat(outside, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o644, "the link's target is not chmodded")
        // `update --out` too.
        let link = tmp.appendingPathComponent("u.safetensors").path
        XCTAssertEqual(symlink(outside, link), 0)
        try assertRefused(["update", "--model", "lenet", "--image", image, "--label", "0", "--out", link], "symbolic link")
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "keep")
    }

    func testUnboundedOrBlockingInputsAreRefusedAtOnce() throws {
        try assertRefused(["metrics", "--candidate", "/dev/zero", "--reference", image], "not a regular file")
        let fifo = tmp.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let t0 = Date()
        try assertRefused(["metrics", "--candidate", fifo, "--reference", image], "not a regular file")
        try assertRefused(["audit", fifo], "not a regular file")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 20, "no read blocks on a FIFO")
    }

    func testDataAndYAMLThatCannotMakeAnHonestAudit() throws {
        // One class: the label is known without an attack; refused, not rated.
        let one = tmp.appendingPathComponent("oneclass/ct").path
        try FileManager.default.createDirectory(atPath: one, withIntermediateDirectories: true)
        for n in ["ct693_r00c01.png", "ct693_r00c02.png"] where FileManager.default.fileExists(atPath: Self.data.appendingPathComponent("ct/\(n)").path) {
            try FileManager.default.copyItem(atPath: Self.data.appendingPathComponent("ct/\(n)").path, toPath: one + "/" + n)
        }
        try assertRefused(["audit", try tinyAudit(folder: tmp.appendingPathComponent("oneclass").path), "--db", tmp.appendingPathComponent("o.sqlite").path],
                          "needs at least 2")
        // A NUL byte in the YAML, and a site name with terminal escapes: refused.
        let nul = tmp.appendingPathComponent("nul.yaml").path
        try Data("site: Good\u{0}Evil\nseed: 1\n".utf8).write(to: URL(fileURLWithPath: nul))
        try assertRefused(["audit", nul], "NUL byte")
        try assertRefused(["audit", try tinyAudit(site: "\"Evil\\e]0;pwned\\a\"")], "control character")
    }

    /// A site name with escapes in a log (written by hand, or by an older medpfl) is printed escaped.
    func testTerminalEscapesInALogArePrintedEscaped() throws {
        let db = tmp.appendingPathComponent("a.sqlite").path
        XCTAssertEqual(try run(["audit", try tinyAudit(), "--db", db, "--no-report", "--quiet"]).code, 0)
        let forged = "Evil\u{1B}]0;pwned\u{07}\u{1B}[2J\rOVERALL RISK: LOW\nfake \u{202E}"
        let q = try SQLiteHandle(db)
        try q.exec("DROP TRIGGER audits_finished_no_update")
        try q.exec("UPDATE audits SET site = '\(forged.replacingOccurrences(of: "'", with: "''"))'")
        for cmd in [["history"], ["show", "1"], ["compare", "1", "1"]] {
            let r = try run(cmd + ["--db", db])
            XCTAssertFalse(r.out.unicodeScalars.contains { $0.value == 0x1B || $0 == "\r" || $0.value == 0x07 || $0.value == 0x202E }, "\(cmd): raw control characters")
            XCTAssertFalse(r.out.contains("\nOVERALL RISK: LOW"), "\(cmd): a fake line")
            if cmd[0] != "compare" { XCTAssertTrue(r.out.contains("Evil\\x1B]0;pwned\\x07\\x1B[2J\\x0DOVERALL RISK: LOW\\x0Afake \\u{202E}"), r.out) }
        }
    }

    /// Every command that only reads a log leaves its bytes as they were (CI runs as root: modes prove
    /// nothing, the hash does); an archived log in a folder nobody may write is readable by all of them.
    func testReadCommandsChangeNoByteAndReadAnArchivedLog() throws {
        let db = tmp.appendingPathComponent("a.sqlite").path
        XCTAssertEqual(try run(["audit", try tinyAudit(), "--db", db, "--no-report", "--quiet"]).code, 0)
        let archive = tmp.appendingPathComponent("archive").path
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        let log = archive + "/a.sqlite"
        try FileManager.default.copyItem(atPath: db, toPath: log)
        func hash() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: log)) }
        let before = try hash()
        let reads: [[String]] = [["history"], ["show", "1"], ["show", "1", "--json"], ["compare", "1", "1"], ["verify"], ["verify", "1", "--json"],
                                 ["report", "1", "--out", tmp.appendingPathComponent("r").path], ["migrate", "--dry-run"]]
        for cmd in reads {
            let r = try run(cmd + ["--db", log])
            XCTAssertEqual(r.code, 0, "\(cmd): \(r.err)")
            XCTAssertEqual(try hash(), before, "\(cmd) changed the log")
        }
        // A refused merge (the output already holds this finished audit) writes nothing, to either file.
        let out = tmp.appendingPathComponent("out.sqlite").path
        try FileManager.default.copyItem(atPath: db, toPath: out)
        let outBefore = try Data(contentsOf: URL(fileURLWithPath: out))
        let m = try run(["merge", out, log])
        XCTAssertEqual(m.code, 2, m.err)
        XCTAssertEqual(try hash(), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), outBefore)
        let fresh = tmp.appendingPathComponent("fresh.sqlite").path
        XCTAssertEqual(try run(["merge", fresh, tmp.appendingPathComponent("missing.sqlite").path]).code, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh), "a refused merge leaves no empty output file")

        // As another user, in a folder that user cannot write (no -shm can be made): SQLite's immutable mode.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else { return }
        // (Readers above, in a writable folder, may leave SQLite's -wal/-shm beside the log, as SQLite does;
        // the log's own bytes are unchanged. An archive holds the log alone.)
        for side in ["-wal", "-shm"] { unlink(log + side) }
        chmod(tmp.path, 0o755); chmod(archive, 0o755); chmod(log, 0o644)
        for cmd in [["history"], ["show", "1"], ["verify", "1"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            p.arguments = ["-u", "nobody", "--", binary.path] + cmd + ["--db", log]
            let o = Pipe(), e = Pipe()
            p.standardOutput = o; p.standardError = e
            try p.run()
            let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            _ = o.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            if err.contains("Permission denied") && err.contains(binary.path) { return }   // the binary itself is not reachable by nobody
            XCTAssertEqual(p.terminationStatus, 0, "\(cmd) as nobody: \(err)")
        }
        XCTAssertEqual(try hash(), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: archive), ["a.sqlite"], "nothing created beside an archived log")
    }

    /// `verify` exits 4 naming the changed row; the forgery goes through only once the triggers are dropped.
    func testVerifyCatchesAForgedLog() throws {
        let db = tmp.appendingPathComponent("a.sqlite").path
        let key = tmp.appendingPathComponent("site.pem").path
        XCTAssertEqual(try run(["keygen", key]).code, 0)
        XCTAssertEqual(try run(["audit", try tinyAudit(), "--db", db, "--no-report", "--quiet", "--sign-key", key]).code, 0)
        let rep = tmp.appendingPathComponent("rep").path
        XCTAssertEqual(try run(["report", "1", "--db", db, "--out", rep]).code, 0)
        let digest = try XCTUnwrap(try run(["show", "1", "--db", db]).out.split(separator: "\n").first { $0.hasPrefix("Digest:") })
        let hex = try XCTUnwrap(digest.split(separator: " ").first { $0.hasPrefix("sha256:") }).dropFirst(7)
        XCTAssertEqual(hex.count, 64)
        let md = try String(contentsOfFile: rep + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.contains("SHA-256 digest \(hex)"), "the filing paragraph carries the digest")
        XCTAssertEqual(try run(["verify", "1", "--db", db, "--expect", "sha256:" + hex.prefix(16)]).code, 0)
        let ok = try run(["verify", "--db", db, "--verify-key", key + ".pub"])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertTrue(ok.out.contains("audit 1: intact") && ok.out.contains("signature valid"), ok.out)
        let q = try SQLiteHandle(db)
        XCTAssertThrowsError(try q.exec("INSERT OR REPLACE INTO trials SELECT * FROM trials"))
        for t in try q.strings("SELECT name FROM sqlite_master WHERE type = 'trigger'") { try q.exec("DROP TRIGGER \(t)") }
        try q.exec("UPDATE trials SET ssim = 0.01 WHERE id = (SELECT MIN(id) FROM trials)")
        let bad = try run(["verify", "--db", db])
        XCTAssertEqual(bad.code, 4)
        XCTAssertTrue(bad.out.contains("audit 1: CHANGED: trials row 1 was changed after the audit finished"), bad.out)
        let other = tmp.appendingPathComponent("other.pem").path
        XCTAssertEqual(try run(["keygen", other]).code, 0)
        try assertRefused(["keygen", other], "already exists")
        XCTAssertEqual(try run(["verify", "1", "--db", db, "--verify-key", other + ".pub"]).code, 4)
    }

    /// A temporary folder left by a SIGKILL is removed by the next report written there.
    func testAStaleReportStagingFolderIsRemovedByTheNextReport() throws {
        let db = tmp.appendingPathComponent("a.sqlite").path
        XCTAssertEqual(try run(["audit", try tinyAudit(), "--db", db, "--no-report", "--quiet"]).code, 0)
        let out = tmp.appendingPathComponent("r").path
        let stale = out + "/.medpfl-report-999999-1-77"
        try FileManager.default.createDirectory(atPath: stale + "/images", withIntermediateDirectories: true)
        try Data("patient".utf8).write(to: URL(fileURLWithPath: stale + "/images/originals.png"))
        XCTAssertEqual(try run(["report", "1", "--db", db, "--out", out]).code, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".") }, [])
    }

    /// A full disk (a 64 KiB tmpfs, where this machine allows the mount; the file-writing layer is tested on
    /// any machine in SafeIOTests): exit 2 with one line, and nothing partial left behind.
    func testAFullDiskIsOneLineAndLeavesNothingPartial() throws {
        let mnt = tmp.appendingPathComponent("small").path
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        func sh(_ tool: String, _ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount"),
              try sh("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]) == 0 else {
            // No small file system can be mounted here: the full-disk path is tested at the file-writing layer
            // (SafeIOTests.testAFullDiskLeavesTheOldFileAndNoPartialOne), which runs on every machine.
            print("full-disk test: no tmpfs could be mounted; covered by SafeIOTests")
            return
        }
        defer { _ = try? sh("/bin/umount", [mnt]) }
        try assertRefused(["update", "--model", "mlp", "--image", image, "--label", "0", "--out", mnt + "/u.safetensors"], "no space left on the device")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mnt), [])
        let db = tmp.appendingPathComponent("a.sqlite").path
        XCTAssertEqual(try run(["audit", try tinyAudit(), "--db", db, "--no-report", "--quiet"]).code, 0)
        try assertRefused(["report", "1", "--db", db, "--out", mnt + "/report", "--thumbnail", "1024"], "no space left on the device")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mnt), [], "no partial report, no staging folder")
    }

    /// SIGTERM or SIGINT while a report is rendered: the staging folder (which holds patient PNGs) is removed.
    func testASignalDuringAReportLeavesNoStagingFolder() throws {
        let db = tmp.appendingPathComponent("a.sqlite").path
        XCTAssertEqual(try run(["audit", try tinyAudit(), "--db", db, "--no-report", "--quiet"]).code, 0)
        var caught = 0
        for attempt in 0..<20 where caught < 2 {
            let out = tmp.appendingPathComponent("r\(attempt)").path
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let p = Process()
            p.executableURL = binary
            p.arguments = ["report", "1", "--db", db, "--out", out, "--thumbnail", "1024"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            var signalled = false
            while p.isRunning {
                if (try? FileManager.default.contentsOfDirectory(atPath: out))?.contains(where: { $0.hasPrefix(".medpfl-report-") }) == true {
                    kill(p.processIdentifier, attempt % 2 == 0 ? SIGTERM : SIGINT)
                    signalled = true
                    break
                }
                usleep(500)
            }
            p.waitUntilExit()
            guard signalled, p.terminationStatus == 143 || p.terminationStatus == 130 else { continue }
            caught += 1
            let left = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".medpfl-") }
            XCTAssertEqual(left, [], "a temporary folder survived the signal")
        }
        XCTAssertGreaterThan(caught, 0, "no attempt caught the report while it was being rendered")
    }
}

/// Direct SQLite access for forging logs in tests (what an attacker with write access to the file can do).
final class SQLiteHandle {
    let queue: DatabaseQueue
    init(_ path: String) throws { queue = try DatabaseQueue(path: path) }
    func exec(_ sql: String) throws { try queue.write { try $0.execute(sql: sql) } }
    func strings(_ sql: String) throws -> [String] { try queue.read { try String.fetchAll($0, sql: sql) } }
}
