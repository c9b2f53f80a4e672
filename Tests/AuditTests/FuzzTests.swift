import Foundation
import FuzzSupport
import XCTest
@testable import Audit

/// Seeded mutation fuzzing of the audit-file loader (YAML and every check behind it) and of the key-file
/// reader: every mutated input is accepted or refused with a one-line error, never a crash.
final class FuzzTests: XCTestCase {
    func testMutatedAuditFilesLoadOrGiveOneLineErrors() throws {
        let fx = try AuditFixture()
        let valid = AuditFixture.yaml(samples: 2, attacks: "  - idlg: {iterations: 2, max_iter: 2}\n  - dlg: {iterations: 3}\n  - gradinv: {iterations: 2, tv: 0.01}\n",
                                      defences: "  - none\n  - laplace:level=100\n  - prune:p=50\n  - dp:clip=1,sigma=0.5\n",
                                      extra: "fl:\n  algorithm: fedavg\n  batch_size: 2\n  local_steps: 2\n  lr: 0.1\nthresholds:\n  success_ssim: 0.9\ndeclared_defence: none\n")
        XCTAssertNoThrow(try AuditDefinitionParser.load(try fx.write("valid.yaml", valid)))
        var m = Mutator(seed: 99)
        var accepted = 0, refused = 0, planned = 0
        for i in 0..<Mutator.iterations(2000) {
            let path = try fx.write("m.yaml", m.text(valid))
            do {
                let parsed = try AuditDefinitionParser.load(path)
                accepted += 1
                // Planning reads the model and images: every 10th accepted file goes that far.
                if accepted % 10 == 0 {
                    do { _ = try AuditPlan.prepare(parsed); planned += 1 } catch let e as DefinitionError {
                        XCTAssertFalse(e.description.contains("\n"), "mutation \(i): \(e.description)")
                    }
                }
            } catch let e as DefinitionError {
                XCTAssertFalse(e.description.contains("\n"), "mutation \(i): not one line: \(e.description)")
                refused += 1
            } catch {
                XCTFail("mutation \(i): not a DefinitionError: \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 300)
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(planned, 5)
    }

    func testMutatedKeyFilesAreReadOrRefused() throws {
        let fx = try AuditFixture()
        let pem = Array(AuditSigningKey.generate().pem.utf8)
        var m = Mutator(seed: 3)
        for i in 0..<Mutator.iterations(1000) {
            let p = fx.path("k.pem")
            try Data(m.bytes(pem)).write(to: URL(fileURLWithPath: p))
            do { _ = try AuditSigningKey(file: p) } catch let e as AuditError {
                XCTAssertTrue(e.isInput, "mutation \(i): \(e)")
            }
        }
    }
}
