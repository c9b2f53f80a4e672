import Foundation
import PNGCodec
import SafeIO

/// Which frames (or slices) of a multi-frame file become images.
public enum FrameChoice: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The middle frame, `frames / 2` (0-based): frame 5 of 10, frame 0 of 1.
    case middle
    /// Every frame, each its own image (one patient: they share the file's label and split side).
    case all
    /// One frame by 0-based index.
    case index(Int)

    /// Parses `middle`, `all` or a 0-based index.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "middle": self = .middle
        case "all": self = .all
        default:
            guard let n = Int(t), n >= 0 else { return nil }
            self = .index(n)
        }
    }

    public var description: String {
        switch self {
        case .middle: return "middle"
        case .all: return "all"
        case .index(let n): return String(n)
        }
    }

    /// The 0-based frames this choice selects from a file of `count` frames.
    public func frames(of count: Int, path: String) throws -> [Int] {
        switch self {
        case .middle: return [count / 2]
        case .all: return Array(0..<count)
        case .index(let n):
            guard n < count else { throw ImagingError.noSuchFrame(path: path, frame: n, frames: count) }
            return [n]
        }
    }
}

/// How medical image files are turned into model input.
public struct ImageReadOptions: Sendable, Equatable, Hashable {
    public var window: WindowChoice
    /// Frames of a multi-frame DICOM or multi-page TIFF, slices of a NIfTI volume.
    public var frames: FrameChoice
    /// The axis NIfTI volumes are sliced along.
    public var axis: SliceAxis
    public init(window: WindowChoice = .dicom, frames: FrameChoice = .middle, axis: SliceAxis = .z) {
        self.window = window
        self.frames = frames
        self.axis = axis
    }
    public static let standard = ImageReadOptions()
}

/// The image formats medpfl reads, recognised by content (a file's name is not trusted).
public enum ImageFormat: String, Sendable, Equatable {
    case png = "PNG"
    case jpeg = "JPEG"
    case tiff = "TIFF"
    case dicom = "DICOM"
    case nifti = "NIfTI"

    /// The format of the file at `path`: the PNG signature, the DICOM preamble's "DICM" at byte 128, or, for a
    /// `.dcm`/`.dicom` file without a preamble (old ACR-NEMA style), DICOM. Nil for anything else.
    public static func of(path: String) throws -> ImageFormat? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw ImagingError.missingFile(path: path) }
        if isDir.boolValue { throw ImagingError.unreadable(path: path, reason: "is a directory") }
        let head: [UInt8]
        do { head = [UInt8](try BoundedFile.head(path, count: 348, what: "image")) } catch let e as FileError {
            throw ImagingError.unreadable(path: path, reason: e.problem)
        }
        // DICOM first: a DICOM preamble may itself hold a TIFF header (dual-personality files).
        if head.count >= 132 && head[128] == 0x44 && head[129] == 0x49 && head[130] == 0x43 && head[131] == 0x4D {
            return .dicom
        }
        if head.count >= 8 && Array(head.prefix(8)) == RGBImage.pngSignature { return .png }
        if head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF { return .jpeg }
        if head.count >= 4 && ((head[0] == 0x49 && head[1] == 0x49 && (head[2] == 0x2A || head[2] == 0x2B) && head[3] == 0)
                                || (head[0] == 0x4D && head[1] == 0x4D && head[2] == 0 && (head[3] == 0x2A || head[3] == 0x2B))) {
            return .tiff
        }
        // NIfTI-1: "n+1\0" at byte 344; NIfTI-2: "n+2\0" at byte 4; gzip-compressed ones by their name.
        if head.count >= 348 && head[344] == 0x6E && head[345] == 0x2B && head[346] == 0x31 && head[347] == 0 { return .nifti }
        if head.count >= 8 && head[4] == 0x6E && head[5] == 0x2B && head[6] == 0x32 && head[7] == 0 { return .nifti }
        let lower = (path as NSString).lastPathComponent.lowercased()
        if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B && lower.hasSuffix(".nii.gz") { return .nifti }
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "dcm" || ext == "dicom" { return .dicom }
        if ext == "png" { return .png }
        if ext == "jpg" || ext == "jpeg" { return .jpeg }
        if ext == "tif" || ext == "tiff" { return .tiff }
        if ext == "nii" || lower.hasSuffix(".nii.gz") { return .nifti }
        return nil
    }

    /// True when a file name's extension is one of the readable formats' (used to collect a folder's images;
    /// files without one are sniffed by content).
    static func hasImageExtension(_ name: String) -> Bool {
        ["png", "dcm", "dicom", "jpg", "jpeg", "tif", "tiff", "nii"].contains((name as NSString).pathExtension.lowercased())
            || name.lowercased().hasSuffix(".nii.gz")
    }
}

/// Reading any supported image file into what the model sees.
public enum ImageReader {
    /// The selected frames of the file at `path`, each decoded and windowed (`options`), as RGB images.
    public static func images(path: String, options: ImageReadOptions = .standard) throws -> [RGBImage] {
        try frames(path: path, options: options).map(\.rgbImage)
    }

    /// The selected frames, as decoded planes (1 gray or 3 colour channels).
    public static func frames(path: String, options: ImageReadOptions = .standard) throws -> [DecodedFrame] {
        switch try ImageFormat.of(path: path) {
        case .png:
            let img = try RGBImage(pngPath: path)
            return [DecodedFrame(width: img.width, height: img.height, channels: 3, planes: img.pixels, window: nil)]
        case .dicom:
            let d = try DICOMImage(path: path)
            return try options.frames.frames(of: d.frames, path: path).map { try d.frame($0, window: options.window) }
        case .jpeg:
            return [try Raster.jpeg(path: path)]
        case .tiff:
            let pages = try Raster.tiffPages(path: path)
            return try options.frames.frames(of: pages, path: path).map { try Raster.tiff(path: path, page: $0) }
        case .nifti:
            let v = try NIfTIVolume(path: path)
            return try options.frames.frames(of: v.slices(along: options.axis), path: path)
                .map { try v.slice($0, along: options.axis, window: options.window) }
        case nil:
            throw ImagingError.unknownFormat(path: path)
        }
    }

    /// One image: frame `frame` (0-based) of a multi-frame file, or the file's only image.
    public static func image(path: String, frame: Int? = nil, options: ImageReadOptions = .standard) throws -> RGBImage {
        var o = options
        if let f = frame { o.frames = .index(f) } else if o.frames == .all { o.frames = .middle }
        guard let first = try images(path: path, options: o).first else { throw ImagingError.unknownFormat(path: path) }
        return first
    }

    /// The files of `files` (deduplicated by path, in order) that cannot be decoded with `options`: each one's
    /// name and one-line reason. Every file is decoded once: the check an audit runs before any work.
    public static func unreadable(_ files: [(name: String, path: String)], options: ImageReadOptions) -> [(name: String, path: String, reason: String)] {
        var bad: [(String, String, String)] = []
        var checked = Set<String>()
        for f in files where checked.insert(f.path).inserted {
            do { _ = try frames(path: f.path, options: options) } catch { bad.append((f.name, f.path, "\(error)")) }
        }
        return bad
    }

    /// The number of frames of a file (1 for PNG). Decodes a DICOM file to find out.
    public static func frameCount(path: String, axis: SliceAxis = .z) throws -> Int {
        switch try ImageFormat.of(path: path) {
        case .nifti: return try NIfTIVolume(path: path).slices(along: axis)
        case .png, .jpeg: return 1
        case .tiff: return try Raster.tiffPages(path: path)
        case .dicom: return try DICOMImage(path: path).frames
        case nil: throw ImagingError.unknownFormat(path: path)
        }
    }
}

extension DecodedFrame {
    /// The frame as PNG bytes: 16-bit gray for one channel (a windowed DICOM image keeps its levels), 8-bit RGB
    /// for three (rounded as `RGBImage.rgb8`).
    public func pngData(name: String = "<memory>") throws -> Data {
        guard channels == 1 else { return try rgbImage.pngData(name: name) }
        let samples = planes.map { UInt16((Double(RGBImage.clamp01($0)) * 65535).rounded()) }
        return try encodedPNG(name: name) { out, count, err, errLen in
            samples.withUnsafeBufferPointer { data in
                medpfl_png_encode16(data.baseAddress, Int32(width), Int32(height), 1, &out, &count, err, errLen)
            }
        }
    }

    /// The frame brought to a model input of `channels x height x width` the way the audit feeds it: a square
    /// input is fitted (shorter side to the size by `method`, then a centre crop), any other is resized; one
    /// channel takes the luma (gray frames keep their own values).
    public func modelInput(channels c: Int, height h: Int, width w: Int, method: ResizeMethod) -> DecodedFrame {
        var img = rgbImage
        img = h == w ? img.fitted(size: h, method: method) : img.resized(width: w, height: h, method: method)
        if c == 1 {
            let plane = img.planeSize
            let gray = channels == 1 ? Array(img.pixels.prefix(plane)) : Array(img.grayscale().pixels.prefix(plane))
            return DecodedFrame(width: w, height: h, channels: 1, planes: gray, window: window)
        }
        return DecodedFrame(width: w, height: h, channels: 3, planes: img.pixels, window: window)
    }
}
