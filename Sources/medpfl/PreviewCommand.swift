import ArgumentParser
import Foundation
import Imaging
import SafeIO

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Write what the model will see of one image file (PNG, JPEG, TIFF, DICOM or NIfTI): decoded, windowed, optionally resized.",
        discussion: """
        A DICOM file is decoded with GDCM, its modality LUT applied (rescale slope/intercept or the Modality \
        LUT Sequence), then a window: the file's own VOI (`dicom`, the default), the 0.5th-99.5th percentiles \
        (`auto`), or CENTER,WIDTH in modality units (e.g. -600,1500 for a lung window on CT); MONOCHROME1 is \
        inverted. The PNG is 16-bit gray for a grayscale image, 8-bit RGB for colour, at the file's own size, or \
        at the model's input with --input (fitted as the audit fits it). --json prints the decoding facts \
        (format, transfer syntax, bits, photometric interpretation, window, frames): never a patient attribute.
        """)

    @Argument(help: "The image file (PNG, JPEG, TIFF, DICOM or NIfTI, recognised by content).") var file: String
    @Option(help: "0-based frame of a multi-frame file (default: the middle frame).") var frame: Int?
    @Option(help: "0-based slice (the same as --frame, for volumes).") var slice: Int?
    @Option(help: "dicom (the file's own VOI; a NIfTI file's cal_min..cal_max), auto (percentiles) or CENTER,WIDTH.") var window: String = "dicom"
    @Option(help: "The axis a NIfTI volume is sliced along: x, y or z.") var axis: String = "z"
    @Option(name: .customLong("input"), help: "Resize to the model input CxHxW (e.g. 3x224x224 or 1x64x64).") var modelInput: String?
    @Option(help: "Resize method for --input: area, bilinear or lanczos.") var resize: String = "area"
    @Option(help: "The PNG to write (owner-only).") var out: String?
    @Flag(help: "Print the decoding facts as JSON.") var json = false

    func validate() throws {
        if frame != nil && slice != nil { throw ValidationError("give --frame or --slice, not both") }
        if let f = frame ?? slice, f < 0 { throw ValidationError("--frame/--slice is a 0-based index, got \(f)") }
        if WindowChoice(window) == nil {
            throw ValidationError("--window is \(WindowChoice.accepted), got '\(window)'")
        }
        if let i = modelInput, Self.shape(i) == nil {
            throw ValidationError("--input is CxHxW with C 1 or 3 and H, W from 1 to 4096 (e.g. 3x224x224), got '\(i)'")
        }
        if SliceAxis(rawValue: axis) == nil { throw ValidationError("--axis is x, y or z, got '\(axis)'") }
        if ResizeMethod(rawValue: resize) == nil { throw ValidationError("--resize is area, bilinear or lanczos, got '\(resize)'") }
        if out == nil && !json { throw ValidationError("give --out OUT.png, --json, or both") }
    }

    static func shape(_ s: String) -> (Int, Int, Int)? {
        let p = s.lowercased().split(separator: "x").map { Int($0) }
        guard p.count == 3, let c = p[0], let h = p[1], let w = p[2], c == 1 || c == 3,
              (1...4096).contains(h), (1...4096).contains(w) else { return nil }
        return (c, h, w)
    }

    struct Facts: Encodable {
        var file: String
        var format: String
        var transferSyntax: String?
        var transferSyntaxUID: String?
        var photometricInterpretation: String?
        var bitsAllocated: Int?
        var bitsStored: Int?
        var signed: Bool?
        var modalityLUT: String?
        var frames: Int
        var frame: Int
        var window: DICOMImage.WindowUsed?
        var sourceSize: String
        var outputSize: String
        var outputChannels: Int
        var output: String?
    }

    func run() throws {
        let choice = WindowChoice(window)!
        let format = try input { () throws -> ImageFormat in
            guard let f = try ImageFormat.of(path: file) else { throw ImagingError.unknownFormat(path: file) }
            return f
        }
        var facts: Facts
        var decoded: DecodedFrame
        switch format {
        case .png, .jpeg, .tiff, .nifti:
            let ax = SliceAxis(rawValue: axis)!
            let n = try input { try ImageReader.frameCount(path: file, axis: ax) }
            let k = try input { try (frame ?? slice).map { try FrameChoice.index($0).frames(of: n, path: file)[0] } ?? n / 2 }
            decoded = try input { try ImageReader.frames(path: file, options: ImageReadOptions(window: choice, frames: .index(k), axis: ax))[0] }
            facts = Facts(file: file, format: format.rawValue, frames: n, frame: k, window: decoded.window,
                          sourceSize: "\(decoded.width)x\(decoded.height)", outputSize: "", outputChannels: decoded.channels)
        case .dicom:
            let d = try input { try DICOMImage(path: file) }
            let k = try input { try (frame ?? slice).map { try FrameChoice.index($0).frames(of: d.frames, path: file)[0] } ?? d.frames / 2 }
            decoded = try input { try d.frame(k, window: choice) }
            let f = d.facts
            facts = Facts(file: file, format: f.format, transferSyntax: f.transferSyntax, transferSyntaxUID: f.transferSyntaxUID,
                          photometricInterpretation: f.photometricInterpretation, bitsAllocated: f.bitsAllocated,
                          bitsStored: f.bitsStored, signed: f.signed, modalityLUT: f.modalityLUT, frames: f.frames, frame: k,
                          window: decoded.window, sourceSize: "\(f.columns)x\(f.rows)", outputSize: "", outputChannels: decoded.channels)
        }
        if let i = modelInput, let (c, h, w) = Self.shape(i) {
            decoded = decoded.modelInput(channels: c, height: h, width: w, method: ResizeMethod(rawValue: resize)!)
        }
        facts.outputSize = "\(decoded.width)x\(decoded.height)"
        facts.outputChannels = decoded.channels
        if let o = out {
            let data = try input { try decoded.pngData(name: o) }
            try input {
                do { try PrivateFile.write(data, to: o) } catch let e as FileError {
                    throw ImagingError.writeFailed(path: o, reason: e.problem)
                }
            }
            facts.output = o
        }
        if json { try printJSON(facts) } else {
            let what = decoded.channels == 1 ? "16-bit gray" : "8-bit RGB"
            let win = decoded.window.map { w -> String in
                switch w.kind {
                case "window": return ", window \(w.center.map(ReportNumber.plain) ?? "?")/\(w.width.map(ReportNumber.plain) ?? "?") \(w.function ?? "")"
                case "lut": return ", the file's VOI LUT"
                case "range", "auto", "cal": return ", \(w.kind) \(w.low.map(ReportNumber.plain) ?? "?")..\(w.high.map(ReportNumber.plain) ?? "?")"
                default: return ""
                }
            } ?? ""
            print("wrote \(facts.output ?? "-"): \(what) \(facts.outputSize) from \(facts.format) \(facts.sourceSize), frame \(facts.frame) of \(facts.frames)\(win)")
        }
    }
}

/// Short numbers for the preview line.
enum ReportNumber {
    static func plain(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e12 ? String(Int64(v)) : String(format: "%.4g", v) }
}
