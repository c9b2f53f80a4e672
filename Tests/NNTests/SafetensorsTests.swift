import XCTest
import NN
import Tensor

final class SafetensorsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Builds a safetensors file by hand: header JSON + raw little-endian bytes.
    func file(_ header: String, _ payload: [UInt8]) -> Data {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var out = [UInt8]()
        var n = UInt64(h.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xff)); n >>= 8 }
        return Data(out + h + payload)
    }
    func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    func testRoundTripKeepsOrderValuesAndOwnerOnlyMode() throws {
        let a = Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-8, -7]), b = Tensor(shape: [], data: [42])
        let path = dir.appendingPathComponent("w.safetensors").path
        try Safetensors.write([("z.weight", a), ("a.bias", b)], metadata: ["model": "x"], to: path)
        let r = try Safetensors.read(path)
        XCTAssertEqual(r.names, ["z.weight", "a.bias"])
        XCTAssertEqual(r.tensors["z.weight"]!.floats, a.scalars)
        XCTAssertEqual(r.tensors["z.weight"]!.shape, [2, 3])
        XCTAssertEqual(r.tensors["a.bias"]!.shape, [])
        XCTAssertEqual(r.metadata["model"], "x")
        var st = stat(); stat(path, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
    }

    func testConvertsEveryFloatAndIntegerDType() throws {
        // F16 1.5 = 0x3E00, -2 = 0xC000, 65504 = 0x7BFF, smallest subnormal 2^-24 = 0x0001.
        let f16: [UInt16] = [0x3E00, 0xC000, 0x7BFF, 0x0001]
        // BF16 1.0 = 0x3F80, -0.5 = 0xBF00.
        let bf16: [UInt16] = [0x3F80, 0xBF00]
        let f64: [Double] = [0.1, -3]
        let i64: [Int64] = [7]
        var payload: [UInt8] = []
        for v in f16 { payload += le(v) }
        for v in bf16 { payload += le(v) }
        for v in f64 { payload += le(v.bitPattern) }
        for v in i64 { payload += le(v) }
        let header = #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"d":{"dtype":"F64","shape":[2],"data_offsets":[12,28]},"n":{"dtype":"I64","shape":[],"data_offsets":[28,36]}}"#
        let r = try Safetensors.parse(file(header, payload), name: "t")
        XCTAssertEqual(r.tensors["h"]!.floats, [1.5, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        XCTAssertEqual(r.tensors["b"]!.floats, [1, -0.5])
        XCTAssertEqual(r.tensors["d"]!.floats, [Float(0.1), -3])
        XCTAssertEqual(r.tensors["n"]!.floats, [7])
    }

    func testBadFilesAreClearErrors() throws {
        func message(_ d: Data) -> String {
            do { _ = try Safetensors.parse(d, name: "bad.safetensors"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(Data([1, 2, 3])).contains("shorter than the 8-byte header"))
        XCTAssertTrue(message(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", [0, 0, 0, 0])).contains("outside"))
        XCTAssertTrue(message(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", [UInt8](repeating: 0, count: 8))).contains("expected 12"))
        XCTAssertTrue(message(file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", [0])).contains("unsupported dtype U8"))
        XCTAssertTrue(message(file("[1, 2]", [])).contains("not a JSON object"))
        XCTAssertTrue(message(file("{\"a\":{\"shape\":[1]}}", [])).contains("lacks dtype"))
        var big = Data(file("{}", []))
        big.replaceSubrange(0..<8, with: [0xff, 0xff, 0, 0, 0, 0, 0, 0])
        XCTAssertTrue(message(big).contains("does not fit"))
    }

    func testLoadingReportsEveryMissingUnexpectedAndMisShapedKey() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        var pairs = model.stateDict(model.initialState(seed: 1)).filter { $0.0 != "body.2.bias" }
        pairs[0] = (pairs[0].0, Tensor.zeros([12, 3, 3, 3]))
        pairs.append(("extra.weight", Tensor.zeros([1])))
        let path = dir.appendingPathComponent("w.safetensors").path
        try Safetensors.write(pairs, to: path)
        XCTAssertThrowsError(try model.loadState(path)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("missing 'body.2.bias'"), m)
            XCTAssertTrue(m.contains("'body.0.weight' has shape [12, 3, 3, 3], the model needs [12, 3, 5, 5]"), m)
            XCTAssertTrue(m.contains("unexpected 'extra.weight'"), m)
            XCTAssertFalse(m.contains("\n"))
        }
    }
}
