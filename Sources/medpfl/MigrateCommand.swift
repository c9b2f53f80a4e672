import ArgumentParser
import Audit
import Foundation

/// `medpfl migrate`: brings an audit log written by an older medpfl to this version's schema. Only this
/// command, `audit` and `merge` change a log's schema; `history`, `show`, `compare` and `report` read any
/// older log as it is.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring an audit log written by an older medpfl up to this version's schema (read commands never change it).",
        discussion: "Recorded audits are never changed: a migration adds tables and triggers only. An audit finished by an "
            + "older medpfl keeps no stored assessment (its immutability forbids adding one) and is assessed on the fly.")

    @Option(help: "SQLite audit log.") var db: String = "medpfl.sqlite"
    @Flag(help: "Only list the migrations the log lacks.") var dryRun = false

    func run() throws {
        let reader = try auditInput { try AuditStore(readingAt: db) }
        let pending = try reader.pendingMigrations()
        if pending.isEmpty { print("\(db): schema is current (\(try reader.appliedMigrations().count) migrations)"); return }
        if dryRun { print("\(db) lacks: \(pending.joined(separator: ", "))"); return }
        _ = try auditInput { try AuditStore(path: db, create: false) }
        print("\(db): applied \(pending.joined(separator: ", "))")
    }
}
