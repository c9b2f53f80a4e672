import Crypto
import Foundation
import SafeIO

/// Ed25519 keys that sign audit digests (`medpfl audit --sign-key`, `medpfl merge --sign-key`) and check
/// them (`medpfl verify --verify-key`), so that a site can prove which machine produced an audit.
///
/// Key files: PEM as OpenSSL writes them (`openssl genpkey -algorithm ed25519 -out key.pem`;
/// `openssl pkey -in key.pem -pubout -out key.pub`), which `medpfl keygen` also writes; or the raw 32-byte
/// key as a binary file, base64 or hex text.
public struct AuditSigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public init(file path: String) throws {
        let raw = try AuditKeyFile.rawKey(path, pemLabel: "PRIVATE KEY", der: AuditKeyFile.pkcs8Prefix, what: "signing key")
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw) } catch {
            throw AuditError.input("\(path): not an Ed25519 private key")
        }
    }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// A new random key.
    public static func generate() -> AuditSigningKey { AuditSigningKey(key: Curve25519.Signing.PrivateKey()) }

    public var publicKey: AuditVerifyingKey { AuditVerifyingKey(key: key.publicKey) }
    /// The public key as stored in the log (base64 of the 32 raw bytes).
    var publicKeyText: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// PKCS#8 PEM of the private key (what OpenSSL writes).
    public var pem: String { AuditKeyFile.pem("PRIVATE KEY", AuditKeyFile.pkcs8Prefix + Array(key.rawRepresentation)) }

    /// Base64 signature of the digest.
    func sign(digest: String, version: Int) throws -> String {
        try key.signature(for: Data(AuditKeyFile.message(digest: digest, version: version).utf8)).base64EncodedString()
    }
}

/// The public half of an `AuditSigningKey`.
public struct AuditVerifyingKey: Sendable, Equatable {
    let key: Curve25519.Signing.PublicKey

    public init(file path: String) throws {
        let raw = try AuditKeyFile.rawKey(path, pemLabel: "PUBLIC KEY", der: AuditKeyFile.spkiPrefix, what: "public key")
        do { key = try Curve25519.Signing.PublicKey(rawRepresentation: raw) } catch {
            throw AuditError.input("\(path): not an Ed25519 public key")
        }
    }

    init(key: Curve25519.Signing.PublicKey) { self.key = key }

    init?(stored text: String) {
        guard let raw = Data(base64Encoded: text), let k = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return nil }
        key = k
    }

    public static func == (a: AuditVerifyingKey, b: AuditVerifyingKey) -> Bool { a.key.rawRepresentation == b.key.rawRepresentation }

    /// SPKI PEM of the key (what `openssl pkey -pubout` writes).
    public var pem: String { AuditKeyFile.pem("PUBLIC KEY", AuditKeyFile.spkiPrefix + Array(key.rawRepresentation)) }

    /// "ed25519:" and the first 16 hex digits of the SHA-256 of the raw key: how reports and `verify` name a key.
    public var fingerprint: String { "ed25519:" + SHA256Digest.hex(Array(key.rawRepresentation)).prefix(16) }

    func isValid(signature: String, digest: String, version: Int) -> Bool {
        guard let sig = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(sig, for: Data(AuditKeyFile.message(digest: digest, version: version).utf8))
    }
}

enum AuditKeyFile {
    /// DER prefixes of Ed25519 keys (RFC 8410): PKCS#8 private key and SubjectPublicKeyInfo.
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    static func message(digest: String, version: Int) -> String { "\(AuditDigest.signaturePrefix)\(version) \(digest)" }

    static func pem(_ label: String, _ der: [UInt8]) -> String {
        "-----BEGIN \(label)-----\n\(Data(der).base64EncodedString(options: [.lineLength64Characters]))\n-----END \(label)-----\n"
    }

    /// The 32 raw key bytes of a key file in any of the accepted forms.
    static func rawKey(_ path: String, pemLabel: String, der prefix: [UInt8], what: String) throws -> Data {
        let data: Data
        do { data = try BoundedFile.read(path, limit: 64 << 10, what: what) } catch let e as FileError { throw AuditError.input(e.description) }
        if data.count == 32 { return data }
        guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw AuditError.input("\(path): not an Ed25519 \(what) (PEM, base64, hex or 32 raw bytes)")
        }
        if text.hasPrefix("-----BEGIN") {
            guard text.hasPrefix("-----BEGIN \(pemLabel)-----") else {
                throw AuditError.input("\(path): a PEM \(text.split(separator: "\n").first.map { $0.replacingOccurrences(of: "-", with: "") } ?? "file"), expected \(pemLabel) (Ed25519)")
            }
            let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            guard let der = Data(base64Encoded: body), der.count == prefix.count + 32, Array(der.prefix(prefix.count)) == prefix else {
                throw AuditError.input("\(path): not an Ed25519 \(what) (another algorithm, or a damaged PEM)")
            }
            return der.suffix(32)
        }
        if text.count == 64, let hex = hexBytes(text) { return Data(hex) }
        if let b = Data(base64Encoded: text), b.count == 32 { return b }
        throw AuditError.input("\(path): not an Ed25519 \(what) (PEM, base64, hex or 32 raw bytes)")
    }

    static func hexBytes(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: u.count, by: 2) {
            guard let b = UInt8(String(decoding: u[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }
}
