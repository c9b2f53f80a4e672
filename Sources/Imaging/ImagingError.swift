import Foundation

/// Everything that can go wrong while reading, writing or collecting images.
///
/// Each case names the file or folder involved, and `description` is one line meant for the user
/// (for example `not a PNG file: /data/xray/a.png (bad signature)`).
public enum ImagingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path does not exist.
    case missingFile(path: String)
    /// The path exists but could not be read (permissions, a directory, an I/O error).
    case unreadable(path: String, reason: String)
    /// The file does not start with the PNG signature.
    case notPNG(path: String)
    /// The file starts like a PNG but libpng rejected it (truncated data, bad CRC, bad header...).
    case corruptPNG(path: String, reason: String)
    /// Writing a PNG failed.
    case writeFailed(path: String, reason: String)
    /// A folder that should hold PNG images holds none.
    case emptyFolder(path: String)
    /// An image-folder root without any class sub-folder.
    case noClassFolders(path: String)
    /// An image (or tensor) does not have the size the caller requires. `subject` is a path or a
    /// short description such as `grid cell 2`.
    case wrongSize(subject: String, expected: String, actual: String)
    /// A `manifest.csv` that exists but cannot be used.
    case badManifest(path: String, reason: String)
    /// A file that is neither a supported image format nor DICOM.
    case unknownFormat(path: String)
    /// A file named or shaped like DICOM in which no data set could be parsed.
    case notDICOM(path: String)
    /// A DICOM data set without pixel data (a report, an RT plan...).
    case noPixelData(path: String)
    /// A DICOM file whose transfer syntax no decoder here handles; `syntax` is its name and UID.
    case unsupportedTransferSyntax(path: String, syntax: String)
    /// A DICOM file whose data set or pixel data is damaged or truncated.
    case corruptDICOM(path: String, reason: String)
    /// A readable image this tool does not interpret (photometric interpretation, bit depth...).
    case unsupportedImage(path: String, reason: String)
    /// A JPEG or TIFF file its library could not decode (truncated, damaged, a layout not read).
    case corruptImage(path: String, format: String, reason: String)
    /// A frame or slice index outside the file's frames.
    case noSuchFrame(path: String, frame: Int, frames: Int)

    public var description: String {
        switch self {
        case .missingFile(let path): return "missing file: \(path)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .notPNG(let path): return "not a PNG file: \(path) (bad signature)"
        case .corruptPNG(let path, let reason): return "corrupt or truncated PNG: \(path) (\(reason))"
        case .writeFailed(let path, let reason): return "cannot write PNG \(path): \(reason)"
        case .emptyFolder(let path): return "no images (PNG, JPEG, TIFF, DICOM or NIfTI) in folder: \(path)"
        case .noClassFolders(let path): return "no class sub-folders in image folder: \(path)"
        case .wrongSize(let subject, let expected, let actual):
            return "wrong size: \(subject) is \(actual), expected \(expected)"
        case .badManifest(let path, let reason): return "unusable manifest \(path): \(reason)"
        case .unknownFormat(let path):
            return "not a supported image file: \(path) (PNG, JPEG, TIFF, DICOM or NIfTI, recognised by content)"
        case .notDICOM(let path): return "not a DICOM file: \(path) (no data set could be parsed)"
        case .noPixelData(let path): return "DICOM file without pixel data: \(path)"
        case .unsupportedTransferSyntax(let path, let syntax):
            return "unsupported DICOM transfer syntax \(syntax): \(path) (see docs/DICOM.md for the decoded ones)"
        case .corruptDICOM(let path, let reason): return "corrupt or truncated DICOM file: \(path) (\(reason))"
        case .unsupportedImage(let path, let reason): return "unsupported image: \(path) (\(reason))"
        case .corruptImage(let path, let format, let reason): return "corrupt or unreadable \(format) file: \(path) (\(reason))"
        case .noSuchFrame(let path, let frame, let frames):
            return "no frame \(frame) in \(path): it has \(frames) frame\(frames == 1 ? "" : "s") (0 to \(frames - 1))"
        }
    }
}

/// The NUL-terminated text a C codec wrote into `buffer` (its error message).
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension ImagingError: LocalizedError {
    public var errorDescription: String? { description }
}
