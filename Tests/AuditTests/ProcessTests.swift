import Foundation
import XCTest
@testable import Audit

/// The real `medpfl` binary: killed mid-run and resumed, two audits on one log at once, exit codes.
final class ProcessTests: XCTestCase {
    /// The binary next to the test bundle (on Linux the bundle URL is the build folder itself).
    var binary: URL {
        let b = Bundle(for: Self.self).bundleURL
        return (b.pathExtension == "xctest" ? b.deletingLastPathComponent() : b).appendingPathComponent("medpfl")
    }

    /// A slower audit (lenet, 18 trials of a few L-BFGS steps) so that a kill lands mid-run.
    func slowAudit(_ f: AuditFixture, name: String, seed: Int) throws -> String {
        try f.write(name, AuditFixture.yaml(model: "lenet", samples: 3, seed: seed,
                                              attacks: "  - idlg: {iterations: 4, max_iter: 5}\n  - dlg: {iterations: 4, max_iter: 5}\n",
                                              defences: "  - none\n  - laplace:level=100\n  - prune:p=50\n"))
    }
    static let slowTrials = 18

    /// Waits until the audit in `db` has at least one trial recorded (or `p` ends); returns that count.
    func waitForFirstTrial(_ db: String, _ p: Process) -> Int {
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline, p.isRunning {
            // A reader: it must not migrate (or lock) the log the audit is creating.
            if FileManager.default.fileExists(atPath: db), let s = try? AuditStore(readingAt: db),
               let a = try? s.audits().first, let n = try? s.trialCount(audit: a.id), n >= 1 {
                return n
            }
            usleep(20_000)
        }
        return 0
    }

    func launch(_ args: [String], in dir: URL) throws -> Process {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary.path), "build medpfl first: \(binary.path)")
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func wait(_ p: Process, timeout: TimeInterval = 300) {
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); XCTFail("medpfl did not finish in \(timeout) s") }
        p.waitUntilExit()
    }

    func testResumeAfterSIGKILLLosesNothingAndDuplicatesNothing() throws {
        let f = try AuditFixture()
        let file = try slowAudit(f, name: "a.yaml", seed: 11)
        let db = f.path("kill.sqlite")
        let p = try launch(["audit", file, "--db", db, "--quiet", "--jobs", "2"], in: f.dir)
        // Kill it once some, but not all, trials are recorded.
        XCTAssertGreaterThanOrEqual(waitForFirstTrial(db, p), 1)
        XCTAssertTrue(p.isRunning, "the audit finished before it could be killed; make it slower")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)

        let store = try AuditStore(path: db, create: false)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        let audit = try XCTUnwrap(store.audits().first)
        let before = try store.trialKeys(audit: audit.id)
        XCTAssertGreaterThanOrEqual(before.count, 1)
        XCTAssertLessThan(before.count, Self.slowTrials)
        XCTAssertTrue(try store.requireAudit(id: audit.id).isAbandoned, "a killed run is shown as abandoned")

        let r = try launch(["audit", file, "--db", db, "--resume", "--quiet"], in: f.dir)
        wait(r)
        XCTAssertEqual(r.terminationStatus, 0)
        let after = try store.trials(audit: audit.id)
        XCTAssertEqual(after.count, Self.slowTrials, "none lost")
        XCTAssertEqual(Set(after.map(\.key)).count, Self.slowTrials, "none duplicated")
        XCTAssertTrue(before.isSubset(of: Set(after.map(\.key))))
        XCTAssertEqual(try store.audits().count, 1, "resumed in place")
        XCTAssertEqual(try store.requireAudit(id: audit.id).status, .finished)
        XCTAssertEqual(try store.integrityCheck(), "ok")

        // The same audit run from scratch gives the same results (seeds derive from the trial keys).
        let fresh = try AuditFixture.run(file, store: try AuditStore(path: f.path("fresh.sqlite")))
        let again = try AuditStore(path: f.path("fresh.sqlite")).trials(audit: fresh.auditID)
        XCTAssertEqual(again.map(\.key), after.map(\.key))
        XCTAssertEqual(again.map(\.ssim), after.map(\.ssim))
    }

    func testSIGTERMMarksTheAuditInterruptedAndResumeByIdFinishesIt() throws {
        let f = try AuditFixture()
        let file = try slowAudit(f, name: "a.yaml", seed: 12)
        let db = f.path("term.sqlite")
        let p = try launch(["audit", file, "--db", db, "--quiet", "--jobs", "2"], in: f.dir)
        XCTAssertGreaterThanOrEqual(waitForFirstTrial(db, p), 1)
        XCTAssertTrue(p.isRunning, "the audit finished before the signal; make it slower")
        p.terminate()
        wait(p)
        XCTAssertEqual(p.terminationStatus, 143)
        let store = try AuditStore(path: db, create: false)
        let audit = try XCTUnwrap(store.audits().first)
        XCTAssertEqual(audit.status, .interrupted)
        XCTAssertLessThan(try store.trialCount(audit: audit.id), Self.slowTrials)
        let r = try launch(["audit", file, "--db", db, "--resume", String(audit.id), "--quiet"], in: f.dir)
        wait(r)
        XCTAssertEqual(r.terminationStatus, 0)
        XCTAssertEqual(try store.trialCount(audit: audit.id), Self.slowTrials)
        XCTAssertEqual(try store.requireAudit(id: audit.id).status, .finished)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testTwoAuditsOnOneLogAtOnceBothFinish() throws {
        let f = try AuditFixture()
        let db = f.path("shared.sqlite")
        let p1 = try launch(["audit", try slowAudit(f, name: "a.yaml", seed: 1), "--db", db, "--quiet", "--jobs", "1"], in: f.dir)
        let p2 = try launch(["audit", try slowAudit(f, name: "b.yaml", seed: 2), "--db", db, "--quiet", "--jobs", "1"], in: f.dir)
        wait(p1)
        wait(p2)
        XCTAssertEqual(p1.terminationStatus, 0)
        XCTAssertEqual(p2.terminationStatus, 0)
        let store = try AuditStore(path: db, create: false)
        let audits = try store.audits()
        XCTAssertEqual(audits.count, 2)
        for a in audits {
            XCTAssertEqual(a.status, .finished)
            XCTAssertEqual(try store.trialCount(audit: a.id), Self.slowTrials)
        }
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testExitCodes() throws {
        let f = try AuditFixture()
        let bad = try f.write("bad.yaml", AuditFixture.yaml() + "\nbogus: 1\n")
        let p = try launch(["audit", bad, "--db", f.path("x.sqlite")], in: f.dir)
        wait(p)
        XCTAssertEqual(p.terminationStatus, 2, "bad input")
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.path("x.sqlite")), "nothing written for a bad file")
        // Analytic recovery on an undefended MLP is exact: HIGH risk, so --fail-on high trips.
        let high = try f.write("high.yaml", AuditFixture.yaml(attacks: "  - analytic\n", defences: "  - none\n"))
        let q = try launch(["audit", high, "--db", f.path("y.sqlite"), "--fail-on", "high"], in: f.dir)
        wait(q)
        XCTAssertEqual(q.terminationStatus, 3)
        let r = try launch(["audit", high, "--db", f.path("y.sqlite"), "--fail-on", "never"], in: f.dir)
        wait(r)
        XCTAssertEqual(r.terminationStatus, 0)
        let s = try launch(["show", "42", "--db", f.path("y.sqlite")], in: f.dir)
        wait(s)
        XCTAssertEqual(s.terminationStatus, 2, "unknown audit id")
    }
}
