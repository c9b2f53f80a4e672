import Foundation

/// A decoded DICOM image: its frames, turned into what the model sees.
///
/// The pipeline (PS3.3 C.11; docs/DICOM.md; checked against pydicom in `DICOMDecodingTests`):
/// 1. GDCM decodes the pixel data of every frame (any transfer syntax in `TransferSyntax.decoded`).
/// 2. Stored values are masked to Bits Stored and sign-extended when Pixel Representation is 1.
/// 3. Grayscale: the modality LUT (Modality LUT Sequence, else Rescale Slope/Intercept; for an enhanced
///    multi-frame file the frame's Pixel Value Transformation, per-frame before shared), then the VOI chosen by
///    `WindowChoice`, scaled to [0, 1]; MONOCHROME1 is inverted after it (1 - v).
/// 4. Colour: RGB as stored; YBR_FULL and YBR_FULL_422 converted to RGB (ITU-R BT.601 full range, as pydicom);
///    YBR_RCT and YBR_ICT (JPEG 2000) arrive as RGB from the codec's inverse component transform. Values are
///    divided by 2^BitsStored - 1. Windows do not apply to colour.
/// 5. PALETTE COLOR: each stored value indexes the red, green and blue LUTs, divided by 2^bits - 1 of their
///    descriptor (as pydicom's apply_color_lut); segmented palettes and other photometric interpretations are
///    refused by name.
public struct DICOMImage {
    /// Decoding facts: no attribute of the patient, study or institution is among them.
    public struct Facts: Sendable, Equatable, Codable {
        public var format = "DICOM"
        public var transferSyntax: String
        public var transferSyntaxUID: String
        public var photometricInterpretation: String
        public var columns: Int
        public var rows: Int
        public var frames: Int
        public var samplesPerPixel: Int
        public var bitsAllocated: Int
        public var bitsStored: Int
        public var signed: Bool
        /// What the modality LUT is ("rescale slope 1 intercept -1024", "Modality LUT Sequence", "none").
        public var modalityLUT: String
    }

    public private(set) var facts: Facts
    let file: DICOMFile
    /// The red, green and blue Palette Color LUTs of a PALETTE COLOR image.
    private var palette: [LUT] = []

    /// Reads and decodes `path` (see `DICOMFile.init(path:)` for the errors).
    public init(path: String) throws {
        let f = try DICOMFile(path: path)
        file = f
        let pi = f.storedPhotometric.isEmpty ? f.photometric : f.storedPhotometric
        let known: Set<String> = ["MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT"]
        guard known.contains(pi) else {
            throw ImagingError.unsupportedImage(path: path, reason: "photometric interpretation \(pi.isEmpty ? "missing" : pi) is not read (MONOCHROME1/2, PALETTE COLOR, RGB and YBR are)")
        }
        let gray = pi.hasPrefix("MONOCHROME")
        let onePlane = gray || pi == "PALETTE COLOR"
        guard (onePlane && f.samplesPerPixel == 1) || (!onePlane && f.samplesPerPixel == 3) else {
            throw ImagingError.unsupportedImage(path: path, reason: "\(f.samplesPerPixel) samples per pixel with \(pi)")
        }
        var facts = Facts(transferSyntax: TransferSyntax.name(f.transferSyntaxUID), transferSyntaxUID: f.transferSyntaxUID,
                      photometricInterpretation: pi, columns: f.columns, rows: f.rows, frames: f.frames,
                      samplesPerPixel: f.samplesPerPixel, bitsAllocated: f.bitsAllocated, bitsStored: f.bitsStored,
                      signed: f.isSigned, modalityLUT: "")
        self.facts = facts
        facts.modalityLUT = gray ? describe(try modality(frame: 0)) : "none (colour)"
        self.facts = facts
        if pi == "PALETTE COLOR" { palette = try Self.palette(f) }
    }

    public var frames: Int { facts.frames }
    public var isGray: Bool { facts.photometricInterpretation.hasPrefix("MONOCHROME") }

    /// The window a frame was shown with, for facts and logs.
    public struct WindowUsed: Sendable, Equatable, Codable {
        /// "window", "lut", "range", "auto" or "colour".
        public var kind: String
        public var center: Double?
        public var width: Double?
        public var function: String?
        public var low: Double?
        public var high: Double?
        public var lutBits: Int?
    }

    /// Frame `k` (0-based) as planes in [0, 1]: 1 plane (gray) or 3 (RGB), each rows x columns.
    public func frame(_ k: Int, window: WindowChoice) throws -> DecodedFrame {
        guard k >= 0 && k < frames else { throw ImagingError.noSuchFrame(path: file.path, frame: k, frames: frames) }
        let stored = try file.storedValues(frame: k)
        let w = file.columns, h = file.rows, plane = w * h
        if isGray {
            let m = try modality(frame: k)
            let x = stored.map(m.apply)
            let (voi, used) = try self.voi(frame: k, choice: window, values: x, modality: m)
            let invert = facts.photometricInterpretation == "MONOCHROME1"
            let planes = x.map { v -> Float in
                let t = voi.apply(v)
                return Float(invert ? 1 - t : t)
            }
            return DecodedFrame(width: w, height: h, channels: 1, planes: planes, window: used)
        }
        if !palette.isEmpty {
            // PALETTE COLOR: each stored value indexes the red, green and blue LUTs (PS3.3 C.7.6.3.1.5).
            var planes = [Float](repeating: 0, count: 3 * plane)
            for (c, lut) in palette.enumerated() {
                let scale = pow(2, Double(lut.bits)) - 1
                for i in 0..<plane {
                    let j = min(max(Int(stored[i]) - lut.first, 0), lut.values.count - 1)
                    planes[c * plane + i] = Float(lut.values[j] / scale)
                }
            }
            return DecodedFrame(width: w, height: h, channels: 3, planes: planes, window: WindowUsed(kind: "palette"))
        }
        // Colour: interleaved (or planar) samples to CHW planes, then to RGB.
        var chw = [Double](repeating: 0, count: 3 * plane)
        if file.planar {
            chw = stored
        } else {
            for i in 0..<plane { for c in 0..<3 { chw[c * plane + i] = stored[3 * i + c] } }
        }
        let maxValue = pow(2, Double(file.bitsStored)) - 1
        let pi = file.photometric
        if pi == "YBR_FULL" || pi == "YBR_FULL_422" {
            let offset = pow(2, Double(file.bitsStored - 1))
            for i in 0..<plane {
                let y = chw[i], cb = chw[plane + i] - offset, cr = chw[2 * plane + i] - offset
                // pydicom's convert_color_space (ITU-R BT.601, full range), rounded and clipped to the stored range.
                let r = y + 1.402 * cr
                let g = y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr
                let b = y + 1.772 * cb
                chw[i] = min(max((r + 0.5).rounded(.down), 0), maxValue)
                chw[plane + i] = min(max((g + 0.5).rounded(.down), 0), maxValue)
                chw[2 * plane + i] = min(max((b + 0.5).rounded(.down), 0), maxValue)
            }
        }
        let planes = chw.map { Float($0 / maxValue) }
        return DecodedFrame(width: w, height: h, channels: 3, planes: planes, window: WindowUsed(kind: "colour"))
    }

    // MARK: Modality and VOI

    /// The functional group item of `sequence` that applies to frame `k` (per-frame first, then shared).
    private func functionalGroup(_ sequence: DICOMTag, frame k: Int) -> (tags: [DICOMTag], items: [Int])? {
        if let n = file.itemCount([Tag.perFrameFunctionalGroups]), k < n,
           file.itemCount([Tag.perFrameFunctionalGroups, sequence], items: [k]) ?? 0 > 0 {
            return ([Tag.perFrameFunctionalGroups, sequence], [k, 0])
        }
        if file.itemCount([Tag.sharedFunctionalGroups, sequence], items: [0]) ?? 0 > 0 {
            return ([Tag.sharedFunctionalGroups, sequence], [0, 0])
        }
        return nil
    }

    func modality(frame k: Int) throws -> ModalityTransform {
        if let g = functionalGroup(Tag.pixelValueTransformationSequence, frame: k) {
            let m = file.numbers(g.tags + [Tag.rescaleSlope], items: g.items)?.first ?? 1
            let b = file.numbers(g.tags + [Tag.rescaleIntercept], items: g.items)?.first ?? 0
            return m == 1 && b == 0 ? .identity : .rescale(slope: m, intercept: b)
        }
        if file.itemCount([Tag.modalityLUTSequence]) ?? 0 > 0 {
            return try table([Tag.modalityLUTSequence], what: "Modality LUT").asModality
        }
        let m = file.numbers([Tag.rescaleSlope])?.first
        let b = file.numbers([Tag.rescaleIntercept])?.first
        if m == nil && b == nil { return .identity }
        let slope = m ?? 1, intercept = b ?? 0
        return slope == 1 && intercept == 0 ? .identity : .rescale(slope: slope, intercept: intercept)
    }

    /// The three Palette Color LUTs: descriptor (entries, first mapped value, bits 8 or 16) and data. Segmented
    /// palettes (0028,1221...) are refused by name.
    private static func palette(_ f: DICOMFile) throws -> [LUT] {
        try (0..<3).map { (c: Int) -> LUT in
            let dataTag = Tag.redPaletteData + DICOMTag(c)
            if f.raw([dataTag]) == nil && f.raw([Tag.segmentedRedPaletteData + DICOMTag(c)]) != nil {
                throw ImagingError.unsupportedImage(path: f.path, reason: "segmented Palette Color LUTs are not read")
            }
            let lut = try Self.lut(f, descriptor: [Tag.redPaletteDescriptor + DICOMTag(c)], data: [dataTag], items: [],
                                   what: "Palette Color LUT")
            guard lut.bits == 8 || lut.bits == 16 else {
                throw ImagingError.unsupportedImage(path: f.path, reason: "Palette Color LUT entries of \(lut.bits) bits (8 and 16 are read)")
            }
            return lut
        }
    }

    private struct LUT {
        var first: Int, values: [Double], bits: Int
        var asModality: ModalityTransform { .table(first: first, values: values, bits: bits) }
        var asVOI: VOITransform { .table(first: first, values: values, bits: bits) }
    }

    /// Item 1 of a LUT sequence: LUT Descriptor (entries, first mapped value, bits) and LUT Data.
    private func table(_ sequence: [DICOMTag], what: String) throws -> LUT {
        try Self.lut(file, descriptor: sequence + [Tag.lutDescriptor], data: sequence + [Tag.lutData], items: [0], what: what)
    }

    /// A LUT from its descriptor (entries, 0 meaning 65536; first mapped value, SS when pixels are signed, PS3.3
    /// C.11.1.1.1; bits per entry) and its data: 16-bit words, or 8-bit entries packed two per word or one per byte.
    private static func lut(_ f: DICOMFile, descriptor: [DICOMTag], data: [DICOMTag], items: [Int], what: String) throws -> LUT {
        guard let d = f.words(descriptor, items: items), d.count >= 3 else {
            throw ImagingError.corruptDICOM(path: f.path, reason: "\(what) without a 3-value LUT Descriptor")
        }
        let entries = d[0] == 0 ? 65536 : Int(d[0])
        let first = f.isSigned ? Int(Int16(bitPattern: d[1])) : Int(d[1])
        let bits = Int(d[2])
        guard bits >= 1, bits <= 16, let raw = f.raw(data, items: items) else {
            throw ImagingError.corruptDICOM(path: f.path, reason: "\(what) data shorter than its descriptor's \(entries) entries")
        }
        let values: [Double]
        if bits <= 8 && raw.count == entries {
            values = raw.map(Double.init)                                            // one byte per entry
        } else if let words = f.words(data, items: items), words.count >= entries {
            values = words.prefix(entries).map { bits <= 8 ? Double($0 & 0xFF) : Double($0) }
        } else if bits <= 8, let words = f.words(data, items: items), words.count * 2 >= entries {
            values = Array(words.flatMap { [Double($0 & 0xFF), Double($0 >> 8)] }.prefix(entries))  // two per word
        } else {
            throw ImagingError.corruptDICOM(path: f.path, reason: "\(what) data shorter than its descriptor's \(entries) entries")
        }
        return LUT(first: first, values: values, bits: bits)
    }

    func voi(frame k: Int, choice: WindowChoice, values x: [Double], modality: ModalityTransform) throws -> (VOITransform, WindowUsed) {
        if let set = VOITransform.chosen(choice, values: x) { return set }
        if let g = functionalGroup(Tag.frameVOILUTSequence, frame: k),
           let c = file.numbers(g.tags + [Tag.windowCenter], items: g.items)?.first,
           let w = file.numbers(g.tags + [Tag.windowWidth], items: g.items)?.first {
            let f = try function(file.string(g.tags + [Tag.voiLUTFunction], items: g.items), width: w)
            return (.window(center: c, width: w, function: f),
                    WindowUsed(kind: "window", center: c, width: w, function: f.rawValue))
        }
        if file.itemCount([Tag.voiLUTSequence]) ?? 0 > 0 {
            let lut = try table([Tag.voiLUTSequence], what: "VOI LUT")
            return (lut.asVOI, WindowUsed(kind: "lut", lutBits: lut.bits))
        }
        if let c = file.numbers([Tag.windowCenter])?.first, let w = file.numbers([Tag.windowWidth])?.first {
            let f = try function(file.string([Tag.voiLUTFunction]), width: w)
            return (.window(center: c, width: w, function: f),
                    WindowUsed(kind: "window", center: c, width: w, function: f.rawValue))
        }
        let lo = x.min() ?? 0, hi = x.max() ?? 0
        return (.range(low: lo, high: hi), WindowUsed(kind: "range", low: lo, high: hi))
    }

    private func function(_ text: String?, width: Double) throws -> VOITransform.Function {
        let f = VOITransform.Function(rawValue: (text ?? "LINEAR").uppercased()) ?? .linear
        if f == .linear && width < 1 || width <= 0 {
            throw ImagingError.corruptDICOM(path: file.path, reason: "window width \(ReportableNumber.text(width)) is not valid for \(f.rawValue)")
        }
        return f
    }

    private func describe(_ m: ModalityTransform) -> String {
        switch m {
        case .identity: return "none"
        case .rescale(let s, let b): return "rescale slope \(ReportableNumber.text(s)) intercept \(ReportableNumber.text(b))"
        case .table(_, let v, let bits): return "Modality LUT Sequence (\(v.count) entries, \(bits) bits)"
        }
    }
}

/// One decoded frame: `channels` planes (1 gray, 3 RGB) of `height x width` values in [0, 1], CHW.
public struct DecodedFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var planes: [Float]
    public var window: DICOMImage.WindowUsed?

    public init(width: Int, height: Int, channels: Int, planes: [Float], window: DICOMImage.WindowUsed?) {
        precondition(channels == 1 || channels == 3, "DecodedFrame: \(channels) channels")
        precondition(planes.count == channels * width * height, "DecodedFrame: \(planes.count) values for \(channels)x\(height)x\(width)")
        self.width = width
        self.height = height
        self.channels = channels
        self.planes = planes
        self.window = window
    }

    /// The frame as an RGB image (gray replicated to the three channels, as PIL's convert("RGB")).
    public var rgbImage: RGBImage {
        channels == 3 ? RGBImage(width: width, height: height, pixels: planes)
            : RGBImage(width: width, height: height, pixels: planes + planes + planes)
    }
}
