import Foundation
import XCTest
@testable import NN

/// PyTorch checkpoints as saved (../shared/golden/graphs: files written by torch.save from the real
/// torchvision/MONAI models): every variant reads to exactly the tensors of the model's weights.safetensors.
final class TorchCheckpointTests: XCTestCase {
    static let graphs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/golden/graphs").standardized

    func assertSameTensors(_ a: [String: StoredTensor], _ b: [String: StoredTensor], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(a.keys), Set(b.keys), what, file: file, line: line)
        for (k, t) in b {
            guard let u = a[k] else { continue }
            XCTAssertEqual(u.shape, t.shape, "\(what) \(k)", file: file, line: line)
            XCTAssertEqual(u.floats, t.floats, "\(what) \(k): values differ", file: file, line: line)
        }
    }

    func testEveryCheckpointVariantReadsToTheSafetensorsWeights() throws {
        let models = try FileManager.default.contentsOfDirectory(atPath: Self.graphs.path).filter {
            FileManager.default.fileExists(atPath: Self.graphs.appendingPathComponent("\($0)/weights.safetensors").path)
        }.sorted()
        XCTAssertGreaterThanOrEqual(models.count, 6)
        var variants = 0
        for m in models {
            let dir = Self.graphs.appendingPathComponent(m)
            let want = try Safetensors.read(dir.appendingPathComponent("weights.safetensors").path).tensors
            for f in ["state_dict.pt", "checkpoint.pth.tar", "dataparallel.pt", "legacy.pt"] {
                let p = dir.appendingPathComponent(f).path
                guard FileManager.default.fileExists(atPath: p) else { continue }
                XCTAssertTrue(try Model.isTorchCheckpoint(p), "\(m)/\(f)")
                assertSameTensors(try TorchCheckpoint.stateDict(p), want, "\(m)/\(f)")
                variants += 1
            }
        }
        XCTAssertGreaterThanOrEqual(variants, 10, "state_dict.pt for six models, plus checkpoint, DataParallel and legacy variants")
        // num_batches_tracked is a 0-dim int64 buffer; it reads as such.
        let sd = try TorchCheckpoint.stateDict(Self.graphs.appendingPathComponent("densenet-mini/legacy.pt").path)
        let nbt = try XCTUnwrap(sd.first { $0.key.hasSuffix("num_batches_tracked") }?.value)
        XCTAssertEqual(nbt.shape, [])
        XCTAssertEqual(nbt.dtype, .I64)
    }

    func testATrainingCheckpointByKeyAndItsOptimizerState() throws {
        let p = Self.graphs.appendingPathComponent("densenet-mini/checkpoint.pth.tar").path
        let want = try Safetensors.read(Self.graphs.appendingPathComponent("densenet-mini/weights.safetensors").path).tensors
        assertSameTensors(try TorchCheckpoint.stateDict(p, key: "model_state_dict"), want, "by key")
        XCTAssertThrowsError(try TorchCheckpoint.stateDict(p, key: "ema")) { e in
            XCTAssertTrue("\(e)".contains("no state dict under 'ema'") && "\(e)".contains("model_state_dict"), "\(e)")
        }
    }

    func testForeignGlobalsTruncationAndDamageAreRefusedByName() throws {
        let dir = NSTemporaryDirectory() + "/ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A pickle that would run os.system("echo pwned") under pickle.load: refused, never executed.
        let evil: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x58, 10, 0, 0, 0] + Array("echo pwned".utf8) + [0x85, 0x52, 0x2E]
        XCTAssertThrowsError(try TorchCheckpoint.read(Data(evil), name: "evil.pt")) { e in
            XCTAssertTrue("\(e)".contains("the global 'os.system'") && "\(e)".contains("never executed"), "\(e)")
        }
        // A truncated zip archive.
        let good = try Data(contentsOf: Self.graphs.appendingPathComponent("densenet-mini/state_dict.pt"))
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: dir + "/half.pt"))
        XCTAssertThrowsError(try TorchCheckpoint.stateDict(dir + "/half.pt")) { e in
            XCTAssertTrue("\(e)".contains("damaged or truncated"), "\(e)")
        }
        let legacy = try Data(contentsOf: Self.graphs.appendingPathComponent("densenet-mini/legacy.pt"))
        XCTAssertThrowsError(try TorchCheckpoint.read(legacy.prefix(legacy.count - 100), name: "cut.pt")) { e in
            XCTAssertTrue("\(e)".contains("truncated"), "\(e)")
        }
        XCTAssertThrowsError(try TorchCheckpoint.read(Data("not a checkpoint".utf8), name: "x.pt")) { e in
            XCTAssertTrue("\(e)".contains("not a PyTorch checkpoint"), "\(e)")
        }
        // A dtype medpfl does not read is named (complex64, bool: fixtures made by torch.save).
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        for (file, storage) in [("complex-dtype.pt", "torch.ComplexFloatStorage"), ("bool-dtype.pt", "torch.BoolStorage")] {
            XCTAssertThrowsError(try TorchCheckpoint.stateDict(fixtures.appendingPathComponent(file).path)) { e in
                XCTAssertTrue("\(e)".contains("stored as \(storage), a dtype medpfl does not read"), "\(e)")
            }
        }
        // Weights that do not fit the model name every missing, unexpected and mis-shaped key.
        let lenet = try ModelZoo.make("lenet", classes: 6, size: 32)
        XCTAssertThrowsError(try lenet.loadState(Self.graphs.appendingPathComponent("densenet-mini/state_dict.pt").path)) { e in
            XCTAssertTrue("\(e)".contains("fc.0.weight"), "\(e)")
        }
    }
}
