import Foundation
import GRDB
import XCTest
@testable import Audit
import SafeIO

/// A run's lock: the PID, start time and boot of the process running an audit, and who may take it over.
final class LockTests: XCTestCase {
    /// An audit marked `running` by the process `pid` (with the recorded `process` token and `host`).
    func runningAudit(_ fx: AuditFixture, pid: Int32, token: String?, host: String = ProcessInfo.processInfo.hostName) throws -> (String, AuditStore, Int64) {
        let file = try fx.write("a.yaml", AuditFixture.yaml())
        let store = try AuditStore(path: fx.path("a.sqlite"))
        let plan = try AuditPlan.prepare(try AuditDefinitionParser.load(file))
        let runner = AuditRunner(plan: plan, store: store)
        runner.toolVersion = "test"
        let (id, _) = try runner.open()
        try DatabaseQueue(path: store.path).write { db in
            try db.execute(sql: "UPDATE audits SET pid = ?, process = ?, host = ? WHERE id = ?", arguments: [Int(pid), token, host, id])
        }
        return (file, store, id)
    }

    func resume(_ file: String, _ store: AuditStore, force: Bool = false) throws -> AuditRunResult {
        let runner = AuditRunner(plan: try AuditPlan.prepare(try AuditDefinitionParser.load(file)), store: store)
        runner.toolVersion = "test"
        runner.resume = .latest
        runner.force = force
        let (id, resumed) = try runner.open()
        return try runner.run(audit: id, resumed: resumed, stop: StopFlag())
    }

    /// Another live program now holds the recorded PID.
    func otherProgram() throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sleep")
        p.arguments = ["60"]
        try p.run()
        return p
    }

    func testAPIDReusedByAnotherProcessDoesNotBlockResume() throws {
        let sleeper = try otherProgram()
        defer { sleeper.terminate() }
        let live = try XCTUnwrap(ProcessIdentity.startTicks(of: sleeper.processIdentifier))
        // The recorded start time is not the live process's: the PID was reused; the audit is taken over.
        let fx = try AuditFixture()
        let token = ProcessIdentity(pid: sleeper.processIdentifier, startTicks: live + 5, bootID: ProcessIdentity.bootID).token
        let (file, store, id) = try runningAudit(fx, pid: sleeper.processIdentifier, token: token)
        XCTAssertTrue(try store.requireAudit(id: id).isAbandoned)
        XCTAssertEqual(try resume(file, store).status, .finished)
        // A log from before v4 (no start time): the PID is alive but runs another program ("sleep"): taken over.
        let fx2 = try AuditFixture()
        let (file2, store2, id2) = try runningAudit(fx2, pid: sleeper.processIdentifier, token: nil)
        XCTAssertEqual(try store2.requireAudit(id: id2).runState, .gone)
        XCTAssertEqual(try resume(file2, store2).status, .finished)
    }

    func testALiveRunIsNotTakenOverAndAnotherHostNeedsForce() throws {
        let sleeper = try otherProgram()
        defer { sleeper.terminate() }
        // The recorded identity is exactly a live process: it is still running the audit.
        let fx = try AuditFixture()
        let who = ProcessIdentity(pid: sleeper.processIdentifier, startTicks: try XCTUnwrap(ProcessIdentity.startTicks(of: sleeper.processIdentifier)),
                                  bootID: ProcessIdentity.bootID)
        let (file, store, _) = try runningAudit(fx, pid: sleeper.processIdentifier, token: who.token)
        XCTAssertThrowsError(try resume(file, store)) { e in XCTAssertTrue("\(e)".contains("still being run by medpfl process \(sleeper.processIdentifier)"), "\(e)") }
        // Another boot of this machine: that process is gone whatever its PID is now.
        let fx3 = try AuditFixture()
        let rebooted = ProcessIdentity(pid: who.pid, startTicks: who.startTicks, bootID: "00000000-0000-0000-0000-000000000000")
        let (file3, store3, _) = try runningAudit(fx3, pid: who.pid, token: rebooted.token)
        XCTAssertEqual(try resume(file3, store3).status, .finished)
        // Another host cannot be checked from here: refused, unless forced.
        let fx2 = try AuditFixture()
        let (file2, store2, _) = try runningAudit(fx2, pid: 1, token: nil, host: "node-17.cluster")
        XCTAssertThrowsError(try resume(file2, store2)) { e in
            XCTAssertTrue("\(e)".contains("marked running on host node-17.cluster") && "\(e)".contains("--force"), "\(e)")
        }
        XCTAssertEqual(try resume(file2, store2, force: true).status, .finished)
    }
}
