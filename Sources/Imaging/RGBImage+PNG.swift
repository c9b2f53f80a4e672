import Foundation
import PNGCodec
import SafeIO

/// PNG reading and writing through the libpng codec (`Sources/System/PNGCodec`).
extension RGBImage {
    /// The 8-byte signature every PNG file starts with.
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads a PNG file.
    ///
    /// Accepts 1-, 2-, 4-, 8- and 16-bit gray, gray+alpha, RGB, RGBA and palette images (interlaced or
    /// not). The conversion follows PIL's `Image.convert("RGB")`: gray is replicated to the three
    /// channels and alpha (including palette or `tRNS` transparency) is dropped, not composited.
    /// 8-bit samples become `v / 255` and 16-bit samples `v / 65535` (Float division, so an 8-bit value
    /// gives exactly the Float32 that `torchvision.transforms.ToTensor` gives).
    ///
    /// - Throws: `ImagingError.missingFile`, `.unreadable`, `.notPNG` or `.corruptPNG` (truncated or
    ///   damaged data never crashes).
    public init(pngPath path: String) throws {
        let bytes = try readWholeFile(path)
        self = try RGBImage(pngData: bytes, name: path)
    }

    /// Reads an image file of any supported format (PNG, DICOM: `ImageReader`), recognised by content, with the
    /// default reading (a DICOM file's own window, its middle frame).
    /// - Throws: as `init(pngPath:)` for PNG, as `DICOMImage(path:)` for DICOM, `.unknownFormat` otherwise.
    public init(path: String) throws {
        self = try ImageReader.image(path: path)
    }

    /// Reads the PNG file at `url` (see `init(path:)`).
    public static func load(_ url: URL) throws -> RGBImage {
        try RGBImage(path: url.path)
    }

    /// Decodes PNG bytes held in memory; `name` is used in error messages.
    public init(pngData bytes: [UInt8], name: String = "<memory>") throws {
        if bytes.isEmpty { throw ImagingError.corruptPNG(path: name, reason: "empty file") }
        let head = Array(bytes.prefix(8))
        if head != Array(RGBImage.pngSignature.prefix(head.count)) { throw ImagingError.notPNG(path: name) }
        if bytes.count < 8 { throw ImagingError.corruptPNG(path: name, reason: "truncated PNG data") }

        var w: Int32 = 0, h: Int32 = 0, ch: Int32 = 0, depth: Int32 = 0
        var samples: UnsafeMutablePointer<UInt16>? = nil
        let errLen = 256
        var message = [CChar](repeating: 0, count: errLen)
        let rc = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { err in
                medpfl_png_decode(data.baseAddress, data.count, &w, &h, &ch, &depth, &samples,
                                  err.baseAddress, errLen)
            }
        }
        defer { free(samples) }
        guard rc == 0, let src = samples else {
            let reason = cText(message)
            throw ImagingError.corruptPNG(path: name, reason: reason.isEmpty ? "libpng error" : reason)
        }
        let width = Int(w), height = Int(h), channels = Int(ch)
        let plane = width * height
        let scale: Float = depth == 16 ? 65535 : 255
        var pixels = [Float](repeating: 0, count: 3 * plane)
        pixels.withUnsafeMutableBufferPointer { out in
            for i in 0..<plane {
                let base = src + i &* channels
                if channels >= 3 {
                    out[i] = Float(base[0]) / scale
                    out[plane &+ i] = Float(base[1]) / scale
                    out[2 &* plane &+ i] = Float(base[2]) / scale
                } else {
                    let g = Float(base[0]) / scale
                    out[i] = g
                    out[plane &+ i] = g
                    out[2 &* plane &+ i] = g
                }
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The image as interleaved 8-bit RGB (HWC): each value clamped to [0, 1] (NaN as 0) and rounded
    /// to the nearest of 0...255 (`floor(v * 255 + 0.5)`, as `torchvision.utils.save_image`).
    public func rgb8() -> [UInt8] {
        let plane = planeSize
        var out = [UInt8](repeating: 0, count: 3 * plane)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    for c in 0..<3 {
                        let v = RGBImage.clamp01(src[c &* plane &+ i])
                        dst[3 &* i &+ c] = UInt8((v * 255 + 0.5).rounded(.down))
                    }
                }
            }
        }
        return out
    }

    /// The image as 8-bit RGB PNG bytes (values rounded as in `rgb8()`), encoded in memory: patient images
    /// never pass through a temporary file.
    /// - Throws: `ImagingError.writeFailed` (`name` names the image in the message).
    public func pngData(name: String = "<memory>") throws -> Data {
        let bytes = rgb8()
        return try encodedPNG(name: name) { out, count, err, errLen in
            bytes.withUnsafeBufferPointer { data in
                medpfl_png_encode(data.baseAddress, Int32(width), Int32(height), 3, &out, &count, err, errLen)
            }
        }
    }

    /// Writes the image as an 8-bit RGB PNG file.
    ///
    /// The file gets mode 0600 (owner read/write only) because reconstructions may show patient data; it is
    /// written atomically and never through a symbolic link (`PrivateFile.write`).
    /// - Throws: `ImagingError.writeFailed` (the parent folder must exist).
    public func writePNG(to path: String) throws {
        let data = try pngData(name: path)
        do { try PrivateFile.write(data, to: path) } catch let e as FileError {
            throw ImagingError.writeFailed(path: path, reason: e.problem)
        }
    }
}

/// Runs one of the PNG codec's encoders (`body` gets the output pointer, its byte count and an error buffer) and
/// returns its bytes, or throws `ImagingError.writeFailed` with the codec's message.
func encodedPNG(name: String, _ body: (inout UnsafeMutablePointer<UInt8>?, inout Int, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Data {
    let errLen = 256
    var message = [CChar](repeating: 0, count: errLen)
    var out: UnsafeMutablePointer<UInt8>? = nil
    var count = 0
    let rc = message.withUnsafeMutableBufferPointer { err in body(&out, &count, err.baseAddress!, errLen) }
    defer { free(out) }
    guard rc == 0, let o = out else {
        let reason = cText(message)
        throw ImagingError.writeFailed(path: name, reason: reason.isEmpty ? "libpng error" : reason)
    }
    return Data(bytes: o, count: count)
}

/// Reads a regular file completely (at most `BoundedFile.Limit.image` bytes), mapping failures to `ImagingError`.
func readWholeFile(_ path: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ImagingError.missingFile(path: path)
    }
    if isDirectory.boolValue { throw ImagingError.unreadable(path: path, reason: "is a directory") }
    do {
        return Array(try BoundedFile.read(path, limit: BoundedFile.Limit.image, what: "image"))
    } catch let e as FileError {
        throw ImagingError.unreadable(path: path, reason: e.problem)
    }
}
