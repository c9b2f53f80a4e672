import Foundation
import RasterCodecs
import SafeIO

/// JPEG and TIFF files through libjpeg-turbo and libtiff (`Sources/System/RasterCodecs`): 8- or 16-bit gray or
/// RGB, scaled to [0, 1] by the bit depth (v / 255, v / 65535). Not windowed: only DICOM carries modality units.
enum Raster {
    static func jpeg(path: String) throws -> DecodedFrame {
        let bytes: [UInt8]
        do { bytes = [UInt8](try BoundedFile.read(path, limit: BoundedFile.Limit.image, what: "image")) } catch let e as FileError {
            throw ImagingError.unreadable(path: path, reason: e.problem)
        }
        var r = medpfl_raster()
        var message = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { b in
            message.withUnsafeMutableBufferPointer { m in medpfl_jpeg_decode(b.baseAddress, b.count, &r, m.baseAddress, m.count) }
        }
        defer { free(r.samples) }
        guard rc == 0 else { throw ImagingError.corruptImage(path: path, format: "JPEG", reason: text(message)) }
        return frame(r)
    }

    static func tiffPages(path: String) throws -> Int {
        try decodeTIFF(path: path, page: 0).pages
    }

    static func tiff(path: String, page: Int) throws -> DecodedFrame {
        try decodeTIFF(path: path, page: page).frame
    }

    private static func decodeTIFF(path: String, page: Int) throws -> (frame: DecodedFrame, pages: Int) {
        do { _ = try BoundedFile.size(path, what: "image") } catch let e as FileError {
            throw ImagingError.unreadable(path: path, reason: e.problem)
        }
        var r = medpfl_raster()
        var message = [CChar](repeating: 0, count: 256)
        let rc = message.withUnsafeMutableBufferPointer { m in medpfl_tiff_decode(path, Int32(page), &r, m.baseAddress, m.count) }
        defer { free(r.samples) }
        guard rc == 0 else { throw ImagingError.corruptImage(path: path, format: "TIFF", reason: text(message)) }
        return (frame(r), Int(r.pages))
    }

    /// Interleaved samples to CHW planes in [0, 1].
    private static func frame(_ r: medpfl_raster) -> DecodedFrame {
        let w = Int(r.width), h = Int(r.height), c = Int(r.channels), plane = w * h
        var planes = [Float](repeating: 0, count: c * plane)
        let scale: Float = r.bits == 16 ? 65535 : 255
        planes.withUnsafeMutableBufferPointer { out in
            if r.bits == 16 {
                let p = r.samples.assumingMemoryBound(to: UInt16.self)
                for i in 0..<plane { for k in 0..<c { out[k * plane + i] = Float(p[i * c + k]) / scale } }
            } else {
                let p = r.samples.assumingMemoryBound(to: UInt8.self)
                for i in 0..<plane { for k in 0..<c { out[k * plane + i] = Float(p[i * c + k]) / scale } }
            }
        }
        return DecodedFrame(width: w, height: h, channels: c, planes: planes, window: nil)
    }

    /// A library's message as one inert line.
    private static func text(_ m: [CChar]) -> String {
        let s = cText(m)
        return s.isEmpty ? "decoder error" : ControlCharacters.escaped(s)
    }
}
