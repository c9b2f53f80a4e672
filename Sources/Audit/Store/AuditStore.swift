import Foundation
import GRDB

/// The SQLite audit log (GRDB `DatabasePool`, WAL journal).
///
/// Several processes may write one log at once (each trial is one short transaction; writers wait up to
/// `busyTimeout` for each other). The file and its WAL are created owner-only (0600): they hold patient
/// images. A finished audit is immutable: this API refuses to change it, and SQLite triggers enforce the
/// same rule for anyone writing the file directly.
public final class AuditStore: @unchecked Sendable {
    public let path: String
    let pool: DatabasePool
    /// How long a write waits for another process's transaction.
    public static let busyTimeout: TimeInterval = 60

    /// Opens (and, when `create`, creates) the log at `path` and brings its schema up to date.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard create else { throw AuditError.input("no audit log at \(path)") }
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if !fm.fileExists(atPath: parent) {
                do { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                    throw AuditError.input("cannot create folder \(parent) for the audit log: \(error.localizedDescription)")
                }
            }
            // SQLite gives the -wal and -shm files the permissions of the database file.
            let fd = open(path, O_WRONLY | O_CREAT, 0o600)
            guard fd >= 0 else { throw AuditError.input("cannot create the audit log \(path): \(String(cString: strerror(errno)))") }
            fchmod(fd, 0o600)
            close(fd)
        }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "medpfl-audit-log"
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_NOTADB {
            throw AuditError.input("\(path) is not an SQLite database")
        } catch {
            throw AuditError.input("cannot open the audit log \(path): \(Self.describe(error))")
        }
        try migrate()
    }

    /// Applies pending migrations. Two processes opening a new log at once may race on the same
    /// migration; the loser sees the winner's work on its retry.
    private func migrate() throws {
        let migrator = AuditSchema.migrator
        var lastError: Error? = nil
        for _ in 0..<5 {
            do {
                if try pool.read({ db in try migrator.hasCompletedMigrations(db) }) { return }
                try migrator.migrate(pool)
                return
            } catch {
                lastError = error
                usleep(200_000)
            }
        }
        if let e = lastError, "\(e)".contains("not a database") || "\(e)".contains("file is not") {
            throw AuditError.input("\(path) is not an SQLite database")
        }
        throw AuditError.store("cannot prepare the audit log \(path): \(lastError.map(Self.describe) ?? "unknown error")")
    }

    /// Names of the migrations applied to this log, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try AuditSchema.migrator.appliedMigrations(db) }
    }

    /// Copies the write-ahead log into the database file, so that the file alone holds every recorded
    /// trial (e.g. before a shard log is copied elsewhere). Best effort: a busy log is left for later.
    public func checkpoint() {
        try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }

    /// `PRAGMA integrity_check` ("ok" when the file is sound).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Runs `body` in one write transaction, turning SQLite refusals into `AuditError.store`.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let e as AuditError { throw e } catch {
            throw AuditError.store("audit log \(path): \(Self.describe(error))")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let e as AuditError { throw e } catch {
            throw AuditError.store("audit log \(path): \(Self.describe(error))")
        }
    }

    /// One line for a GRDB/SQLite error (its message, without the SQL).
    static func describe(_ error: Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    /// Refuses any change to a finished audit (the triggers refuse it too).
    func requireUnfinished(_ db: Database, _ audit: Int64) throws {
        guard let status = try String.fetchOne(db, sql: "SELECT status FROM audits WHERE id = ?", arguments: [audit]) else {
            throw AuditError.input("no audit \(audit) in \(path)")
        }
        if status == AuditStatus.finished.rawValue {
            throw AuditError.store("audit \(audit) is finished: a finished audit cannot be changed")
        }
    }
}
