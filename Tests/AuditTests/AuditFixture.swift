import Foundation
import XCTest
@testable import Audit

/// A private temporary folder with audit files that point at the bundled sample images.
final class AuditFixture {
    /// The bundled real images (6 classes, 30 each).
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../data/medical-sample/32").standardizedFileURL.path

    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-audit-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Writes `text` as `name` in the folder and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// A small but real audit: `model`, `samples` single images, the given attacks (few iterations)
    /// and defences. Line 7 is `data.folder`.
    static func yaml(site: String = "Test Site", model: String = "mlp", samples: Int = 1, seed: Int = 5,
                     attacks: String = "  - idlg: {iterations: 2, max_iter: 2}\n",
                     defences: String = "  - none\n  - laplace:level=100\n", extra: String = "") -> String {
        """
        site: \(site)
        seed: \(seed)
        model:
          name: \(model)
          version: v1
        data:
          folder: \(images)
          samples: \(samples)
        attacks:
        \(attacks)defences:
        \(defences)\(extra)
        """
    }

    /// Parses, plans and runs an audit file into `store` (the whole grid, or one shard).
    static func run(_ file: String, store: AuditStore, shard: Shard? = nil, resume: ResumeRequest = .none) throws -> AuditRunResult {
        let plan = try AuditPlan.prepare(try AuditDefinitionParser.load(file))
        let runner = AuditRunner(plan: plan, store: store)
        runner.shard = shard
        runner.resume = resume
        runner.toolVersion = "test"
        let (id, resumed) = try runner.open()
        return try runner.run(audit: id, resumed: resumed, stop: StopFlag())
    }
}

/// Asserts that `body` throws a `DefinitionError` whose one-line text contains every fragment.
@discardableResult
func assertDefinitionError(_ body: @autoclosure () throws -> Any, _ fragments: [String], line: Int? = nil,
                           file: StaticString = #filePath, at testLine: UInt = #line) -> DefinitionError? {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: testLine)
    } catch let e as DefinitionError {
        for f in fragments { XCTAssertTrue(e.description.contains(f), "'\(e.description)' lacks '\(f)'", file: file, line: testLine) }
        if let l = line { XCTAssertEqual(e.line, l, "wrong line in '\(e.description)'", file: file, line: testLine) }
        XCTAssertFalse(e.description.contains("\n"), "error is not one line: \(e.description)", file: file, line: testLine)
        return e
    } catch {
        XCTFail("expected a DefinitionError, got \(error)", file: file, line: testLine)
    }
    return nil
}
