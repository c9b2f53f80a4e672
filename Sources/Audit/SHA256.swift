import Crypto
import SafeIO
import Foundation

/// SHA-256 fingerprints of weights files, model initialisations, images and audit configurations, computed
/// by swift-crypto (CryptoKit's API; BoringSSL on Linux). A thin hex-string layer over `Crypto.SHA256`.
public struct SHA256Digest: Sendable {
    private var hasher = SHA256()

    public init() {}

    /// Feeds more bytes.
    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if let done = bytes.withContiguousStorageIfAvailable({ hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            return done
        }
        hasher.update(data: Array(bytes))
    }

    /// Feeds raw memory.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) { hasher.update(bufferPointer: buffer) }

    /// The digest as 64 lower-case hex digits.
    public mutating func hexDigest() -> String { Self.hexString(hasher.finalize()) }

    /// The digest's 32 bytes.
    public mutating func bytes() -> [UInt8] { Array(hasher.finalize()) }

    /// SHA-256 of `bytes` as hex.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var d = SHA256Digest()
        d.update(bytes)
        return d.hexDigest()
    }

    /// SHA-256 of a UTF-8 string as hex.
    public static func hex(of text: String) -> String { hex(Array(text.utf8)) }

    /// SHA-256 of a regular file's bytes as hex, read in 1 MiB pieces (a file of any size, in bounded memory).
    public static func hex(ofFile path: String) throws -> String {
        var d = SHA256Digest()
        try BoundedFile.stream(path, chunk: 1 << 20) { d.update($0) }
        return d.hexDigest()
    }

    static func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
