import XCTest
import NN
import Tensor

final class ModelTests: XCTestCase {
    func testZooKeysAndShapesFollowPyTorch() throws {
        let lenet = try ModelZoo.make("lenet", classes: 6)
        XCTAssertEqual(lenet.parameterNames, ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "body.4.weight", "body.4.bias", "fc.0.weight", "fc.0.bias"])
        XCTAssertEqual(lenet.parameters.last!.shape, [6])
        XCTAssertEqual(lenet.parameters[6].shape, [6, 768])
        XCTAssertEqual(try ModelZoo.make("lenet4", classes: 6).parameters[6].name, "body.6.weight")
        XCTAssertEqual(try ModelZoo.make("cnn7", classes: 3).parameters.last { $0.name == "fc.0.weight" }!.shape, [3, 40000])
        let r = try ModelZoo.make("resnet18-cifar", classes: 10)
        XCTAssertEqual(r.parameters.count, 62)
        XCTAssertEqual(r.parameterCount, 11_173_962)
        XCTAssertTrue(r.parameterNames.contains("layer2.0.downsample.1.weight"))
        XCTAssertTrue(r.buffers.map(\.name).contains("layer4.1.bn2.num_batches_tracked"))
        XCTAssertEqual(try ModelZoo.make("resnet18", classes: 6, size: 64).parameters[0].shape, [64, 3, 7, 7])
        XCTAssertEqual(try ModelZoo.make("mlp", classes: 6, size: 16, hidden: 32).parameters[0].shape, [32, 768])
        XCTAssertThrowsError(try ModelZoo.make("vgg", classes: 6)) { XCTAssertTrue("\($0)".contains("unknown model 'vgg'")) }
    }

    func testSeededInitialisationIsReproducibleAndInRange() throws {
        let m = try ModelZoo.make("lenet", classes: 6)
        let a = m.initialState(seed: 5), b = m.initialState(seed: 5), c = m.initialState(seed: 6)
        XCTAssertEqual(a.parameters[0].scalars, b.parameters[0].scalars)
        XCTAssertNotEqual(a.parameters[0].scalars, c.parameters[0].scalars)
        let all = a.parameters.flatMap(\.scalars)
        XCTAssertTrue(all.allSatisfy { $0 >= -0.5 && $0 < 0.5 })
        XCTAssertEqual(Double(all.map { abs($0) }.reduce(0, +)) / Double(all.count), 0.25, accuracy: 0.01)
    }

    func testForwardShapesAndBatchNormModes() throws {
        let m = try ModelZoo.make("resnet18-cifar", classes: 6)
        let s = m.initialState(seed: 1)
        var rng = SeededGenerator(seed: 2)
        let x = Tensor.uniform([2, 3, 32, 32], using: &rng)
        let (train, newBuffers) = m.forward(x, params: s.parameters, buffers: s.buffers, bn: .train)
        XCTAssertEqual(train.shape, [2, 6])
        let k = m.buffers.firstIndex { $0.name == "bn1.num_batches_tracked" }!
        XCTAssertEqual(newBuffers[k].scalar, 1, "train mode counts the batch")
        let eval = m.forward(x, state: s, bn: .eval)
        XCTAssertNotEqual(train.scalars, eval.scalars, "eval uses running statistics")
    }

    func testModelFileErrorsNameTheLayer() throws {
        func error(_ yaml: String) -> String {
            do { _ = try ModelFile.parse(yaml, source: "site.yaml"); return "no error" } catch { return "\(error)" }
        }
        let head = "input: [3, 32, 32]\nclasses: 6\nlayers:\n"
        XCTAssertTrue(error(head + "  - conv2d: {in: 1, out: 4, kernel: 3}\n  - flatten\n  - linear: {in: 3600, out: 6}\n").contains("layer 0: conv2d expects 1 input channels, gets 3"))
        XCTAssertTrue(error(head + "  - conv2d: {in: 3, out: 4, kernel: 3}\n  - flatten\n  - linear: {in: 100, out: 6}\n").contains("layer 2: linear expects 100 input features, gets 3600"))
        XCTAssertTrue(error(head + "  - transformer\n").contains("layer 0: unknown layer 'transformer'"))
        XCTAssertTrue(error(head + "  - conv2d: {in: 3, out: 4, kernel: 3, strid: 2}\n").contains("unknown option 'strid'"))
        XCTAssertTrue(error(head + "  - flatten\n  - linear: {in: 3072, out: 5}\n").contains("expected [6] class scores"))
        XCTAssertTrue(error("input: [3, 32]\nclasses: 6\nlayers: [flatten]\n").contains("'input' must be"))
        XCTAssertTrue(error("{{{").contains("not valid YAML"))
        XCTAssertTrue(error(head + "  - conv2d: {in: 3, out: 4}\n").contains("missing 'kernel'"))
    }

    func testSequentialModelFileKeysFollowNNSequential() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../audits/models/site-cnn.yaml").standardized.path
        let m = try ModelFile.load(path)
        XCTAssertEqual(Array(m.parameterNames.prefix(4)), ["0.weight", "0.bias", "1.weight", "1.bias"])
        XCTAssertEqual(m.parameterNames.last, "14.bias")
        XCTAssertTrue(m.buffers.map(\.name).contains("5.running_var"))
    }
}
