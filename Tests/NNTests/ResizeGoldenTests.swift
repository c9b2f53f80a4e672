import XCTest
import Imaging
import NN

/// PIL's BILINEAR (antialiased, as torchvision's `Resize` on PIL images) and `convert('L')`, against the inputs
/// of ../shared/golden/graphs, which were made by PIL from the full-resolution sample images: byte-exact.
final class ResizeGoldenTests: XCTestCase {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared").standardized

    func check(_ caseFile: String, image: String, channels: Int) throws {
        let x = try Safetensors.read(Self.shared.appendingPathComponent("golden/graphs/\(caseFile)").path).tensors["x"]!
        let side = x.shape[3]
        var img = try RGBImage(path: Self.shared.appendingPathComponent("datasets/medical-sample/full/\(image)").path)
        XCTAssertNotEqual(img.width, side, "the golden image was resized")
        if channels == 1 { img = img.grayscale() }
        let ours = img.resized(width: side, height: side, method: .bilinear).pixels
        let ref = x.floats.prefix(channels * side * side)
        var worst: Float = 0
        for (a, b) in zip(ours.prefix(channels * side * side), ref) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThan(worst, 1e-6, "\(caseFile) \(image): PIL's bytes")
    }

    func testBilinearIsPILs() throws {
        try check("densenet-mini/case-train-b1.safetensors", image: "fundus/retina_r00c07.png", channels: 3)
        try check("vit-mini/case-eval-b1-norm.safetensors", image: try firstImage("vit-mini", "case-eval-b1-norm"), channels: 3)
        try check("monai-densenet-gray/case-train-b1.safetensors", image: try firstImage("monai-densenet-gray", "case-train-b1"), channels: 1)
        // The antialiased filter differs from F.interpolate when shrinking: the golden inputs tell them apart.
        let img = try RGBImage(path: Self.shared.appendingPathComponent("datasets/medical-sample/full/fundus/retina_r00c07.png").path)
        XCTAssertNotEqual(img.resized(width: 64, height: 64, method: .bilinear).pixels, img.resized(width: 64, height: 64, method: .interpolate).pixels)
    }

    /// PIL 11's `Image.resize(..., LANCZOS)` of a 3x8 gray image, shrinking (to 2x4) and enlarging (to 7x5).
    func testLanczosIsPILs() {
        let rows: [[Int]] = [(0..<8).map { Int((Double($0) / 7 * 255).rounded()) }, (0..<8).reversed().map { Int((Double($0) / 7 * 255).rounded()) },
                             (0..<8).map { $0 * 37 % 256 }]
        let plane = rows.flatMap { $0 }.map { Float($0) / 255 }
        let img = RGBImage(width: 8, height: 3, pixels: plane + plane + plane)
        func bytes(_ w: Int, _ h: Int) -> [Int] { Array(img.resized(width: w, height: h, method: .lanczos).pixels.prefix(w * h).map { Int(($0 * 255).rounded()) }) }
        XCTAssertEqual(bytes(4, 2), [110, 121, 132, 154, 110, 120, 146, 69])
        XCTAssertEqual(bytes(5, 7), [0, 46, 128, 210, 255, 42, 84, 128, 171, 219, 164, 146, 128, 106, 112, 244, 187, 128, 68, 11,
                                     164, 147, 127, 118, 17, 42, 85, 125, 189, 74, 0, 48, 125, 232, 111])
    }

    func firstImage(_ model: String, _ name: String) throws -> String {
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.shared.appendingPathComponent("golden/graphs/cases.json"))) as! [String: Any]
        let m = (j["models"] as! [[String: Any]]).first { $0["name"] as? String == model }!
        let c = (m["cases"] as! [[String: Any]]).first { ($0["case"] as! String).contains(name) }!
        return (c["images"] as! [String])[0]
    }
}
