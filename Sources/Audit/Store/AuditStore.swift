import Foundation
import GRDB

/// The SQLite audit log (GRDB `DatabasePool`, WAL journal; readers open it read-only, without migrating).
///
/// Several processes may write one log at once (each trial is one short transaction; writers wait up to
/// `busyTimeout` for each other). The file and its WAL are created owner-only (0600): they hold patient
/// images. A finished audit is immutable: this API refuses to change it, and SQLite triggers enforce the
/// same rule for anyone writing the file directly.
/// `@unchecked Sendable`: safe because its only state is GRDB's `DatabasePool`/`DatabaseQueue` (thread-safe by
/// design: they serialise writes and reads) and immutable values.
public final class AuditStore: @unchecked Sendable {
    public let path: String
    /// A `DatabasePool` for writers; a read-only `DatabaseQueue` for readers (`AuditStore(readingAt:)`).
    let pool: any DatabaseWriter
    /// True when opened by `AuditStore(readingAt:)`: nothing is written, not even a migration.
    public let readOnly: Bool
    /// Signs the digest of every audit this store finishes (nil: digests are unsigned).
    public let signingKey: AuditSigningKey?
    /// How long a write waits for another process's transaction.
    public static let busyTimeout: TimeInterval = 60

    /// Opens (and, when `create`, creates) the log at `path` for writing and brings its schema up to date.
    /// Only the commands that write (audit, merge, migrate) open a log this way.
    public init(path: String, create: Bool = true, signingKey: AuditSigningKey? = nil) throws {
        self.path = path
        self.signingKey = signingKey
        readOnly = false
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
            // O_EXCL | O_NOFOLLOW: a link planted at the log's path is refused, never followed.
            // (Another process creating the same new log at this moment wins the race: then the file is its.)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                fchmod(fd, 0o600)
                close(fd)
            } else {
                var st = stat()
                let raced = errno == EEXIST && lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
                if !raced {
                    let why = lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK ? "it is a dangling symbolic link" : String(cString: strerror(errno))
                    throw AuditError.input("cannot create the audit log \(path): \(why)")
                }
            }
        }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "medpfl-audit-log"
        pool = try Self.openPool(path, config)
        try migrate()
    }

    /// Opens an existing log read-only, as it is: no migration runs, nothing is written (the file's bytes and
    /// its modification time stay as they were). A log of any older medpfl schema reads; one with migrations
    /// this medpfl does not know (written by a newer medpfl) is refused.
    public init(readingAt path: String, immutable: Bool = false) throws {
        self.path = path
        signingKey = nil
        readOnly = true
        guard FileManager.default.fileExists(atPath: path) else { throw AuditError.input("no audit log at \(path)") }
        var queue: DatabaseQueue
        var facts: (isLog: Bool, applied: [String])
        do {
            (queue, facts) = try Self.openReader(path, immutable: immutable)
        } catch let e as DatabaseError where !immutable && [.SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM].contains(e.resultCode) {
            // An archived log in a folder this user cannot write: SQLite cannot create the WAL's shared-memory
            // file beside it. Nobody can be writing it then either, so it is read as an immutable file.
            do { (queue, facts) = try Self.openReader(path, immutable: true) } catch { throw Self.readerError(path, error) }
        } catch {
            throw Self.readerError(path, error)
        }
        pool = queue
        guard facts.isLog else { throw AuditError.input("\(path) is not a medpfl audit log (it has no audits table)") }
        let known = Set(AuditSchema.migrator.migrations)
        if let newer = facts.applied.first(where: { !known.contains($0) }) {
            throw AuditError.input("\(path) was written by a newer medpfl (schema migration '\(newer)'); use that version to read it")
        }
    }

    /// A read-only connection (`immutable`: SQLite's `immutable=1`, for a file nobody can be writing), and
    /// whether the file is an audit log and which migrations it has.
    private static func openReader(_ path: String, immutable: Bool) throws -> (DatabaseQueue, (Bool, [String])) {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "medpfl-audit-log-reader"
        var target = path
        if immutable {
            // A URI filename (the system SQLite is built with SQLITE_USE_URI); '?', '#' and '%' must be escaped.
            var allowed = CharacterSet.urlPathAllowed
            allowed.remove(charactersIn: "?#%")
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            target = "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?immutable=1"
        }
        let queue = try DatabaseQueue(path: target, configuration: config)
        let facts = try queue.read { db in
            (try db.tableExists("audits"), try db.tableExists("grdb_migrations")
                ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : [])
        }
        return (queue, facts)
    }

    private static func readerError(_ path: String, _ error: Error) -> AuditError {
        if let e = error as? DatabaseError, e.resultCode == .SQLITE_NOTADB { return AuditError.input("\(path) is not an SQLite database") }
        return AuditError.input("cannot read the audit log \(path): \(describe(error))")
    }

    /// The migrations this medpfl knows that the log lacks (`medpfl migrate` applies them).
    public func pendingMigrations() throws -> [String] {
        let applied = Set(try appliedMigrations())
        return AuditSchema.migrator.migrations.filter { !applied.contains($0) }
    }

    /// Opens the pool, waiting while another process holds the lock that switching a new file to WAL needs
    /// (SQLite answers that switch with SQLITE_BUSY at once, without its busy handler: two audits that create
    /// one log at the same moment would otherwise fail half the time).
    private static func openPool(_ path: String, _ config: Configuration) throws -> DatabasePool {
        var tries = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: config)
            } catch let e as DatabaseError where e.resultCode == .SQLITE_NOTADB {
                throw AuditError.input("\(path) is not an SQLite database")
            } catch let e as DatabaseError where (e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED
                                                  || "\(e)".contains("locked")) && tries < 300 {
                tries += 1
                usleep(100_000)
            } catch {
                throw AuditError.input("cannot open the audit log \(path): \(Self.describe(error))")
            }
        }
    }

    /// Applies pending migrations. Two processes opening a new log at once may race on the same
    /// migration; the loser sees the winner's work on its retry.
    private func migrate() throws {
        let migrator = AuditSchema.migrator
        var lastError: Error? = nil
        // Another process may be creating or migrating the same new log: wait for it (up to ~30 s).
        for _ in 0..<150 {
            do {
                if try pool.read({ db in try migrator.hasCompletedMigrations(db) }) { return }
                try migrator.migrate(pool)
                return
            } catch {
                lastError = error
                if "\(error)".contains("not a database") || "\(error)".contains("file is not") { break }
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
        try pool.read { db in
            try db.tableExists("grdb_migrations") ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
        }
    }

    /// Copies the write-ahead log into the database file, so that the file alone holds every recorded
    /// trial (e.g. before a shard log is copied elsewhere). Best effort: a busy log is left for later.
    public func checkpoint() {
        guard !readOnly, let p = pool as? DatabasePool else { return }
        _ = try? p.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }

    /// `PRAGMA integrity_check` ("ok" when the file is sound).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Runs `body` in one write transaction, turning SQLite refusals into `AuditError.store`.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch let e as AuditError { throw e } catch let e as DatabaseError where e.resultCode == .SQLITE_FULL {
            // The transaction was rolled back: nothing of it is in the log. Bad input to the user (exit 2).
            throw AuditError.input("audit log \(path): the disk is full; the last write was rolled back (every earlier trial is kept)")
        } catch {
            throw AuditError.store("audit log \(path): \(Self.describe(error))")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let e as AuditError { throw e } catch {
            throw AuditError.store("audit log \(path): \(Self.describe(error))")
        }
    }

    /// The records `sql` selects, decoded one row at a time, so that a row that does not decode is an error
    /// naming the table, the row id and the column ("audit log P: trials row 12, column attack_kind: unknown
    /// attack 'x'"), without the row's other values (they may name patients' files). Bad input: exit 2.
    func fetchRecords<R: AuditTableRecord>(_ db: Database, _ type: R.Type, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [R] {
        var out: [R] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            do { out.append(try R(row: row)) } catch {
                let id: Int64? = row.hasColumn("id") ? row["id"] : nil
                throw AuditError.input("audit log \(path): \(R.databaseTableName) row \(id.map(String.init) ?? "?"), \(Self.decodingProblem(error))")
            }
        }
        return out
    }

    /// "column attack_kind: unknown attack 'x'" from a GRDB or Codable decoding error.
    static func decodingProblem(_ error: Error) -> String {
        if let e = error as? DecodingError {
            let (path, why): ([CodingKey], String)
            switch e {
            case .dataCorrupted(let c): (path, why) = (c.codingPath, c.debugDescription)
            case .keyNotFound(let k, let c): (path, why) = (c.codingPath + [k], "is missing")
            case .typeMismatch(_, let c), .valueNotFound(_, let c): (path, why) = (c.codingPath, c.debugDescription)
            @unknown default: (path, why) = ([], "\(e)")
            }
            return "column \(path.first?.stringValue ?? "?"): \(why.split(separator: "\n").first.map(String.init) ?? why)"
        }
        let text = "\(error)"
        func capture(_ pattern: String) -> String? {
            guard let r = text.range(of: pattern, options: .regularExpression) else { return nil }
            let m = String(text[r])
            guard let q = m.range(of: #""[a-z_0-9]+""#, options: .regularExpression) else { return nil }
            return m[q].replacingOccurrences(of: "\"", with: "")
        }
        if let c = capture(#"column not found: "[a-z_0-9]+""#) { return "column \(c): is missing" }
        let column = capture(#"column: "[a-z_0-9]+""#) ?? "?"
        var what = "does not decode"
        if let r = text.range(of: #"could not decode [A-Za-z_.<>]+"#, options: .regularExpression) { what = String(text[r]) }
        return "column \(column): \(what)"
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
