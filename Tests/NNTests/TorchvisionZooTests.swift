import XCTest
import NN

/// The zoo's torchvision names against torchvision 0.29.2 itself (keys, shapes, parameter order and count,
/// Tests/NNTests/Fixtures/torchvision-state-dicts.json, made by scripts/experiments/make_torchvision_keys.py):
/// a site's `torch.save(model.state_dict())` loads with no model file. Their numerics are checked on the
/// small configurations of ../shared/golden/graphs (GraphGoldenTests), which run the same builders.
final class TorchvisionZooTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/torchvision-state-dicts.json")

    func testStateDictsEqualTorchvisions() throws {
        let j = try JSONSerialization.jsonObject(with: try Data(contentsOf: Self.fixture)) as! [String: Any]
        let models = j["models"] as! [String: [String: Any]]
        XCTAssertEqual(Set(models.keys), ["resnet18", "resnet34", "resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0"])
        for (name, ref) in models {
            let m = try ModelZoo.make(name, classes: 6, size: 224)
            let ours = Dictionary(uniqueKeysWithValues: (m.parameters + m.buffers).map { ($0.name, $0.shape) })
            let theirs = (ref["state_dict"] as! [[Any]]).map { ($0[0] as! String, $0[1] as! [Int]) }
            XCTAssertEqual(Set(ours.keys), Set(theirs.map(\.0)), "\(name): state_dict keys")
            for (k, shape) in theirs { XCTAssertEqual(ours[k], shape, "\(name): shape of \(k)") }
            XCTAssertEqual(m.parameterNames, ref["parameters"] as! [String], "\(name): named_parameters() order")
            XCTAssertEqual(m.parameterCount, ref["parameter_count"] as! Int, "\(name): parameter count")
        }
    }

    func testInputsTooSmallSayWhy() {
        XCTAssertThrowsError(try ModelZoo.make("densenet121", classes: 6, size: 16)) { e in
            XCTAssertTrue("\(e)".contains("needs at least 32x32 pixels"), "\(e)")
        }
        XCTAssertThrowsError(try ModelZoo.make("resnet50", classes: 6, size: 31))
        XCTAssertNoThrow(try ModelZoo.make("efficientnet_b0", classes: 6, size: 32))
    }
}
