import Foundation
import GDCMBridge
import SafeIO

/// A DICOM attribute tag, `group << 16 | element`.
public typealias DICOMTag = UInt32

/// The attributes medpfl reads from a DICOM file: only those that say how to turn stored values into what the
/// model sees. No patient, study or institution attribute is ever read (an audit tool must not copy them).
enum Tag {
    static let photometric: DICOMTag = 0x0028_0004
    static let pixelRepresentation: DICOMTag = 0x0028_0103
    static let windowCenter: DICOMTag = 0x0028_1050
    static let windowWidth: DICOMTag = 0x0028_1051
    static let rescaleIntercept: DICOMTag = 0x0028_1052
    static let rescaleSlope: DICOMTag = 0x0028_1053
    static let voiLUTFunction: DICOMTag = 0x0028_1056
    static let modalityLUTSequence: DICOMTag = 0x0028_3000
    static let voiLUTSequence: DICOMTag = 0x0028_3010
    static let lutDescriptor: DICOMTag = 0x0028_3002
    static let lutData: DICOMTag = 0x0028_3006
    static let pixelValueTransformationSequence: DICOMTag = 0x0028_9145
    static let frameVOILUTSequence: DICOMTag = 0x0028_9132
    static let sharedFunctionalGroups: DICOMTag = 0x5200_9229
    static let perFrameFunctionalGroups: DICOMTag = 0x5200_9230
    static let pixelData: DICOMTag = 0x7FE0_0010
    /// Red, green, blue Palette Color LUT Descriptor and Data (green and blue follow red at +1, +2).
    static let redPaletteDescriptor: DICOMTag = 0x0028_1101
    static let redPaletteData: DICOMTag = 0x0028_1201
    static let segmentedRedPaletteData: DICOMTag = 0x0028_1221
}

/// One DICOM file as GDCM decoded it (`Sources/System/GDCMBridge`): the stored pixel values of every frame
/// and access to the few attributes that govern their interpretation.
///
/// Every error names the file and the problem, never an attribute value. Decoding happens once, at `init`.
final class DICOMFile {
    private let handle: OpaquePointer
    let info: medpfl_dicom_info
    let path: String

    /// Reads and decodes `path`.
    /// - Throws: `ImagingError.missingFile`, `.unreadable`, `.notDICOM`, `.noPixelData`,
    ///   `.unsupportedTransferSyntax` (named from its UID), `.corruptDICOM`.
    init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImagingError.missingFile(path: path)
        }
        if isDir.boolValue { throw ImagingError.unreadable(path: path, reason: "is a directory") }
        do {
            let size = try BoundedFile.size(path, what: "DICOM file")
            guard size <= Int64(BoundedFile.Limit.dicom) else {
                throw ImagingError.unreadable(path: path, reason: "the DICOM file is \(byteCount(size)), more than the \(byteCount(Int64(BoundedFile.Limit.dicom))) medpfl reads for one")
            }
        } catch let e as FileError {
            throw ImagingError.unreadable(path: path, reason: e.problem)
        }
        var out: OpaquePointer? = nil
        var detail = [CChar](repeating: 0, count: 256)
        let rc = detail.withUnsafeMutableBufferPointer { d in medpfl_dicom_open(path, &out, d.baseAddress, d.count) }
        let message = cText(detail)
        guard rc == Int32(MEDPFL_DICOM_OK), let h = out else {
            switch rc {
            case Int32(MEDPFL_DICOM_UNREADABLE): throw ImagingError.unreadable(path: path, reason: "cannot open the file")
            case Int32(MEDPFL_DICOM_NOT_DICOM): throw ImagingError.notDICOM(path: path)
            case Int32(MEDPFL_DICOM_NO_PIXEL_DATA): throw ImagingError.noPixelData(path: path)
            case Int32(MEDPFL_DICOM_UNSUPPORTED_SYNTAX):
                throw ImagingError.unsupportedTransferSyntax(path: path, syntax: TransferSyntax.describe(message))
            default:
                throw ImagingError.corruptDICOM(path: path, reason: message.isEmpty ? "unreadable data set" : message)
            }
        }
        handle = h
        var i = medpfl_dicom_info()
        medpfl_dicom_get_info(h, &i)
        info = i
        self.path = path
    }

    deinit { medpfl_dicom_close(handle) }

    var columns: Int { Int(info.columns) }
    var rows: Int { Int(info.rows) }
    var frames: Int { Int(info.frames) }
    var samplesPerPixel: Int { Int(info.samples_per_pixel) }
    var bitsAllocated: Int { Int(info.bits_allocated) }
    var bitsStored: Int { Int(info.bits_stored) }
    var highBit: Int { Int(info.high_bit) }
    var isSigned: Bool { info.pixel_representation == 1 }
    var planar: Bool { info.planar_configuration == 1 }
    var bigEndian: Bool { info.big_endian == 1 }
    /// Photometric interpretation of the decoded buffer.
    var photometric: String { Self.text(info.photometric) }
    /// Photometric interpretation as the file states it.
    var storedPhotometric: String { Self.text(info.stored_photometric) }
    var transferSyntaxUID: String { Self.text(info.transfer_syntax) }

    private static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
    }

    // MARK: Attributes

    /// The bridge's 1-based item number for every sequence on a tag path (0-based `items`, missing ones 0).
    private static func itemNumbers(_ tags: [DICOMTag], _ items: [Int]) -> [UInt32] {
        (0..<max(0, tags.count - 1)).map { UInt32(($0 < items.count ? items[$0] : 0) + 1) }
    }

    /// The raw value at a path of tags (every tag but the last a sequence, entered at the given 0-based item).
    func raw(_ tags: [DICOMTag], items: [Int] = []) -> [UInt8]? {
        let itemNumbers = Self.itemNumbers(tags, items)
        var pointer: UnsafeRawPointer? = nil
        let n = tags.withUnsafeBufferPointer { t in
            itemNumbers.withUnsafeBufferPointer { it in
                medpfl_dicom_value(handle, t.baseAddress, it.baseAddress, Int32(tags.count), &pointer)
            }
        }
        guard n >= 0 else { return nil }
        guard n > 0, let p = pointer else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: Int(n)))
    }

    /// The number of items of a sequence, or nil when absent.
    func itemCount(_ tags: [DICOMTag], items: [Int] = []) -> Int? {
        let itemNumbers = Self.itemNumbers(tags, items)
        let n = tags.withUnsafeBufferPointer { t in
            itemNumbers.withUnsafeBufferPointer { it in
                medpfl_dicom_items(handle, t.baseAddress, it.baseAddress, Int32(tags.count))
            }
        }
        return n >= 0 ? Int(n) : nil
    }

    /// A string value (CS, DS, IS...), trailing padding removed; nil when absent or empty.
    func string(_ tags: [DICOMTag], items: [Int] = []) -> String? {
        guard let bytes = raw(tags, items: items) else { return nil }
        let s = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return s.isEmpty ? nil : s
    }

    /// The values of a decimal or integer string (DS, IS; backslash-separated); nil when absent, empty or not
    /// numbers.
    func numbers(_ tags: [DICOMTag], items: [Int] = []) -> [Double]? {
        guard let s = string(tags, items: items) else { return nil }
        let parts = s.split(separator: "\\", omittingEmptySubsequences: false)
            .map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0!.isFinite }) else { return nil }
        return parts.map { $0! }
    }

    /// 16-bit binary values (US, SS or OW) in the data set's byte order, as unsigned integers.
    func words(_ tags: [DICOMTag], items: [Int] = []) -> [UInt16]? {
        guard let bytes = raw(tags, items: items), bytes.count >= 2 else { return nil }
        var out: [UInt16] = []
        out.reserveCapacity(bytes.count / 2)
        var i = 0
        while i + 1 < bytes.count {
            let a = UInt16(bytes[i]), b = UInt16(bytes[i + 1])
            out.append(bigEndian ? (a << 8) | b : (b << 8) | a)
            i += 2
        }
        return out
    }

    // MARK: Pixels

    /// Values per frame (all samples).
    var valuesPerFrame: Int { rows * columns * samplesPerPixel }

    /// The stored values of frame `k` (0-based) as numbers, masked to Bits Stored and sign-extended when
    /// signed, in the decoded buffer's sample order (interleaved or planar as `planar` says).
    func storedValues(frame k: Int) throws -> [Double] {
        let n = valuesPerFrame
        let bytesPerSample = bitsAllocated / 8
        guard bitsAllocated == 8 || bitsAllocated == 16 || bitsAllocated == 32 else {
            throw ImagingError.unsupportedImage(path: path, reason: "\(bitsAllocated) bits allocated per sample (8, 16 and 32 are read)")
        }
        guard bitsStored >= 1, bitsStored <= bitsAllocated else {
            throw ImagingError.corruptDICOM(path: path, reason: "bits stored \(bitsStored) with \(bitsAllocated) allocated")
        }
        let needed = UInt64(frames) * UInt64(n) * UInt64(bytesPerSample)
        guard info.buffer_length >= needed else {
            throw ImagingError.corruptDICOM(path: path, reason: "the decoded pixel data holds fewer values than its rows, columns and frames need")
        }
        guard let base = medpfl_dicom_pixels(handle) else {
            throw ImagingError.corruptDICOM(path: path, reason: "no decoded pixel data")
        }
        // The stored bits end at the high bit (PS3.5 8.1.1); almost always high bit = bits stored - 1.
        let shift = UInt64(max(0, highBit - bitsStored + 1))
        let bits = bitsStored
        let mask: UInt64 = bits >= 64 ? .max : (UInt64(1) << UInt64(bits)) - 1
        let signBit: UInt64 = UInt64(1) << UInt64(bits - 1)
        let signed = isSigned
        var out = [Double](repeating: 0, count: n)
        let offset = k * n * bytesPerSample
        out.withUnsafeMutableBufferPointer { o in
            let p = base.advanced(by: offset)
            for i in 0..<n {
                var v: UInt64
                switch bytesPerSample {
                case 1: v = UInt64(p.load(fromByteOffset: i, as: UInt8.self))
                case 2: v = UInt64(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                default: v = UInt64(p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                }
                v = (v >> shift) & mask
                if signed && v & signBit != 0 { o[i] = Double(Int64(bitPattern: v | ~mask)) } else { o[i] = Double(v) }
            }
        }
        return out
    }
}
