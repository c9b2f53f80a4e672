import ArgumentParser
import Audit
import Foundation
import SafeIO

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that finished audits are exactly as they were when they finished (their digests, and signatures).",
        discussion: """
        Recomputes each finished audit's SHA-256 digest from its rows (configuration, trials, reconstructions, \
        utility runs, verdict, assessment) and compares it with the digest stored when it finished; names the \
        first table and row that differs. The log is opened read-only and is not changed. Whoever can write the \
        log can also rewrite an unsigned digest: compare the digest with the one in the filed report \
        (--expect), or check the signature with the site's public key (--verify-key).
        Exit codes: 0 intact (audits finished before digests, or not finished, are listed with a warning); \
        4 something was changed (or, with --require-digest, an audit has no digest); 2 bad input.
        """)

    @Argument(help: "Audit id (default: every audit in the log).") var id: Int64?
    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Option(help: "Ed25519 public key (PEM or raw) the digests must be signed with.") var verifyKey: String?
    @Option(help: "The digest the audit must have (e.g. sha256:… from the filed report; needs an id).") var expect: String?
    @Flag(help: "Fail (exit 4) on finished audits that have no digest (finished before medpfl 0.2.0).") var requireDigest = false
    @Flag(help: "Print JSON on stdout.") var json = false

    func validate() throws {
        if expect != nil && id == nil { throw ValidationError("--expect needs an audit id") }
        if let e = expect {
            let hex = e.lowercased().replacingOccurrences(of: "sha256:", with: "")
            guard hex.count >= 16, hex.count <= 64, hex.allSatisfy(\.isHexDigit) else {
                throw ValidationError("--expect takes a SHA-256 digest (at least 16 hex digits, optionally after 'sha256:')")
            }
        }
    }

    func run() throws {
        let key = try verifyKey.map { k in try auditInput { try AuditVerifyingKey(file: k) } }
        let store = try auditInput { try AuditStore(readingAt: db) }
        let ids = try id.map { [$0] } ?? store.audits().map(\.id)
        let results = try ids.map { i in try auditInput { try store.verify(audit: i, key: key, expected: id == nil ? nil : expect) } }
        let failed = results.contains { $0.outcome == .changed || (requireDigest && $0.outcome == .noDigest) }
        if json {
            try printAuditJSON(results)
        } else {
            if results.isEmpty { print("No audits in \(db).") }
            for r in results { print(Self.line(r)) }
        }
        if failed { throw ExitCode(4) }
    }

    static func line(_ r: AuditVerification) -> String {
        switch r.outcome {
        case .intact:
            var s = "audit \(r.audit): intact (digest v\(r.digestVersion ?? 0) sha256:\(r.digest ?? ""), \(r.rows ?? 0) rows"
            switch r.signature {
            case .valid?: s += ", signature valid, key \(r.signedBy ?? "?")"
            default: s += ", unsigned"
            }
            return s + ")"
        case .changed: return "audit \(r.audit): CHANGED: \(r.problem ?? "digest differs")"
        case .noDigest, .unfinished: return "audit \(r.audit): not verified: \(r.problem ?? "")"
        }
    }
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an Ed25519 key pair for signing audit digests (audit/merge --sign-key, verify --verify-key).",
        discussion: """
        Writes the private key to PATH (PKCS#8 PEM, mode 0600; keep it off the machines that store the logs if \
        you can) and the public key to PATH.pub (PEM). OpenSSL reads and writes the same files \
        (openssl genpkey -algorithm ed25519).
        """)

    @Argument(help: "Where to write the private key (PATH.pub gets the public key).") var path: String

    func run() throws {
        let key = AuditSigningKey.generate()
        try input {
            if FileManager.default.fileExists(atPath: path) { throw InputError("\(path) already exists; refusing to overwrite a key") }
            try PrivateFile.write(key.pem, to: path)
            try PrivateFile.write(key.publicKey.pem, to: path + ".pub")
        }
        print("Wrote \(path) (private, 0600) and \(path).pub; key \(key.publicKey.fingerprint)")
    }
}
