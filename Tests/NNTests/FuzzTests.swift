import Foundation
import FuzzSupport
import Tensor
import XCTest
@testable import NN

/// Seeded mutation fuzzing of the safetensors reader and the model-file parser: each mutated file is read
/// or refused with the reader's error, never a crash, an overflow trap or an allocation beyond the file.
final class FuzzTests: XCTestCase {
    func testMutatedSafetensorsReadOrThrow() throws {
        let m0 = try ModelZoo.make("lenet", classes: 6, size: 32)
        let state = m0.initialState(seed: 3)
        let path = NSTemporaryDirectory() + "/fuzz-\(UUID().uuidString).safetensors"
        defer { unlink(path) }
        try Safetensors.write(Array(zip(m0.parameterNames, state.parameters)), metadata: ["model": "lenet"], to: path)
        let valid = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(valid[0]) | Int(valid[1]) << 8
        var m = Mutator(seed: 21)
        var read = 0, refused = 0
        for i in 0..<Mutator.iterations(3000) {
            var input: [UInt8]
            if i % 2 == 0 {
                // Mutate the JSON header as text (shapes, offsets, dtypes) and fix up the length prefix.
                let header = String(decoding: valid[8..<(8 + headerLength)], as: UTF8.self)
                var h = Array(m.text(header.replacingOccurrences(of: ",", with: ",\n")).utf8)
                if m.below(4) == 0 { h = m.bytes(h) }
                input = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) } + h + valid[(8 + headerLength)...]
            } else {
                input = m.bytes(valid)
            }
            do {
                let r = try Safetensors.parse(Data(input), name: "mutation \(i)")
                for (_, t) in r.tensors { XCTAssertEqual(t.floats.count, t.shape.reduce(1, *)) }
                read += 1
            } catch is SafetensorsError {
                refused += 1
            } catch {
                XCTFail("mutation \(i): not a SafetensorsError: \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(read, 10)
    }

    func testMutatedModelFilesParseOrThrow() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../audits/models/site-cnn.yaml")
        let valid = try String(contentsOf: root, encoding: .utf8)
        var m = Mutator(seed: 5)
        var built = 0, refused = 0
        for i in 0..<Mutator.iterations(3000) {
            let text = m.text(valid)
            do {
                let model = try ModelFile.parse(text, source: "mutation \(i)")
                XCTAssertGreaterThan(model.parameterCount, 0)
                built += 1
            } catch is ModelError {
                refused += 1
            } catch {
                XCTFail("mutation \(i): not a ModelError: \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 500)
        XCTAssertGreaterThan(built, 100)
    }

    /// PyTorch checkpoints: the legacy format is a bare pickle stream (mutations reach the unpickler directly);
    /// the zip format's members are CRC-checked, so its mutations test the container; both must only ever
    /// read or throw `TorchCheckpointError`.
    func testMutatedCheckpointsReadOrThrow() throws {
        let graphs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/golden/graphs/densenet-mini")
        let legacy = try [UInt8](Data(contentsOf: graphs.appendingPathComponent("legacy.pt")))
        let zip = try [UInt8](Data(contentsOf: graphs.appendingPathComponent("state_dict.pt")))
        var m = Mutator(seed: 31)
        var read = 0, refused = 0
        let path = NSTemporaryDirectory() + "/fuzz-\(UUID().uuidString).pt"
        defer { unlink(path) }
        for i in 0..<Mutator.iterations(3000) {
            let input = m.bytes(i % 3 == 2 ? zip : legacy)
            do {
                try Data(input).write(to: URL(fileURLWithPath: path))
                _ = try TorchCheckpoint.stateDict(path)
                read += 1
            } catch is TorchCheckpointError {
                refused += 1
            } catch {
                XCTFail("mutation \(i): not a TorchCheckpointError: \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(read, 10, "mutated tensor bytes still read")
    }
}

/// ONNX files: every truncation and seeded byte mutation of real exports is imported or refused with a
/// ModelError, and an imported one runs a forward pass; never a crash or a trap.
final class OnnxFuzzTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/golden/graphs").standardized

    func attempt(_ bytes: [UInt8], _ label: String) -> Bool {
        do {
            let m = try OnnxFile.decode(Data(bytes), source: label)
            try m.requireFits(batch: 1, bn: .eval)
            let y = m.forward(Tensor.zeros([1] + m.inputShape), state: m.initialState(seed: 1), bn: .eval)
            XCTAssertEqual(y.shape, [1, m.classes], label)
            return true
        } catch is ModelError {
            return false
        } catch {
            XCTFail("\(label): not a ModelError: \(error)")
            return false
        }
    }

    func testTruncatedAndMutatedExportsImportOrRefuse() throws {
        for name in ["densenet-mini", "vit-mini"] {
            let valid = try [UInt8](Data(contentsOf: Self.golden.appendingPathComponent("\(name)/model.onnx")))
            XCTAssertTrue(attempt(valid, name))
            var refused = 0
            for cut in stride(from: 0, to: valid.count, by: max(1, valid.count / Mutator.iterations(60))) {
                if !attempt(Array(valid.prefix(cut)), "\(name) cut at \(cut)") { refused += 1 }
            }
            XCTAssertGreaterThan(refused, 0)
            var m = Mutator(seed: 77)
            for i in 0..<Mutator.iterations(150) { _ = attempt(m.bytes(valid), "\(name) mutation \(i)") }
        }
    }
}
