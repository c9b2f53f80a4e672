/// DICOM transfer syntaxes by UID (PS3.6 Annex A), to name a file's encoding in facts and refusals.
public enum TransferSyntax {
    /// The standard's name of every transfer syntax (retired ones included), by UID.
    public static let names: [String: String] = [
        "1.2.840.10008.1.2": "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.98": "Encapsulated Uncompressed Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.91": "JPEG 2000",
        "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component (Lossless Only)",
        "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component",
        "1.2.840.10008.1.2.4.94": "JPIP Referenced",
        "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
        "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
        "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
        "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
        "1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
        "1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
        "1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
        "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
        "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
        "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
        "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
        "1.2.840.10008.1.2.4.112": "JPEG XL",
        "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
        "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
        "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
        "1.2.840.10008.1.2.5": "RLE Lossless",
        "1.2.840.10008.1.2.6.1": "RFC 2557 MIME encapsulation",
        "1.2.840.10008.1.2.6.2": "XML Encoding",
        "1.2.840.10008.1.2.7.1": "SMPTE ST 2110-20 Uncompressed Progressive Active Video",
        "1.2.840.10008.1.2.7.2": "SMPTE ST 2110-20 Uncompressed Interlaced Active Video",
        "1.2.840.10008.1.2.7.3": "SMPTE ST 2110-30 PCM Digital Audio",
    ]

    /// The transfer syntaxes medpfl decodes, through GDCM 3.0.21 with its JPEG, CharLS and OpenJPEG codecs.
    /// The tests decode a fixture of each (Tests/ImagingTests/Fixtures/dicom, docs/DICOM.md).
    public static let decoded: [String] = [
        "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.5",
    ]

    /// "name (UID)" for a known UID, "unknown transfer syntax UID" otherwise. A UID that is not a dotted number
    /// is not echoed (it could be anything a file holds).
    public static func describe(_ uid: String) -> String {
        let clean = uid.trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        if let name = names[clean] { return "\(name) (\(clean))" }
        let isUID = !clean.isEmpty && clean.count <= 64 && clean.allSatisfy { $0 == "." || ("0"..."9").contains($0) }
        return isUID ? "unknown transfer syntax \(clean)" : "an unrecognised transfer syntax"
    }

    /// The standard name of a UID, or the UID itself.
    public static func name(_ uid: String) -> String { names[uid] ?? uid }
}

import Foundation
