import Foundation
import GRDB

/// The audit log's schema, as named GRDB migrations. Never edit a shipped migration: add a new one.
enum AuditSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-audit-log") { db in try createTables(db) }
        m.registerMigration("v2-finished-audits-are-immutable") { db in try createImmutabilityTriggers(db) }
        m.registerMigration("v3-stored-assessments") { db in try createAssessments(db) }
        m.registerMigration("v4-audit-digests") { db in try createDigests(db) }
        m.registerMigration("v5-verdict-evidence") { db in try addVerdictEvidence(db) }
        m.registerMigration("v6-utility-evidence") { db in
            try db.execute(sql: "ALTER TABLE utility_runs ADD COLUMN utility_evidence TEXT")
        }
        return m
    }

    static func createTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audits (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                site TEXT NOT NULL,
                model TEXT NOT NULL,
                model_version TEXT NOT NULL,
                model_sha256 TEXT NOT NULL,
                config_json TEXT NOT NULL,
                config_sha256 TEXT NOT NULL,
                tool_version TEXT NOT NULL,
                seed TEXT NOT NULL,
                command_line TEXT NOT NULL,
                definition_path TEXT,
                shard TEXT,
                trials_planned INTEGER NOT NULL,
                grid_size INTEGER NOT NULL,
                started_at DATETIME NOT NULL,
                finished_at DATETIME,
                status TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'finished', 'failed')),
                status_note TEXT,
                pid INTEGER,
                host TEXT
            );
            CREATE INDEX audits_by_site ON audits(site, started_at);
            CREATE INDEX audits_by_config ON audits(config_sha256);

            CREATE TABLE trials (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                audit_id INTEGER NOT NULL REFERENCES audits(id),
                trial_key TEXT NOT NULL,
                grid_index INTEGER NOT NULL,
                sample_index INTEGER NOT NULL,
                image_paths TEXT NOT NULL,
                image_sha256 TEXT NOT NULL,
                attack TEXT NOT NULL,
                attack_kind TEXT NOT NULL,
                attack_config TEXT NOT NULL,
                defence TEXT NOT NULL,
                defence_effect TEXT NOT NULL,
                snr REAL,
                fraction_changed REAL,
                epsilon REAL,
                seed TEXT NOT NULL,
                true_labels TEXT NOT NULL,
                recovered_labels TEXT NOT NULL,
                applicable BOOLEAN NOT NULL,
                note TEXT,
                images INTEGER NOT NULL,
                successes INTEGER NOT NULL,
                labels_recovered INTEGER NOT NULL,
                mse REAL,
                psnr REAL,
                ssim REAL,
                max_ssim REAL,
                success BOOLEAN NOT NULL,
                iterations INTEGER NOT NULL,
                final_loss REAL,
                seconds REAL NOT NULL,
                recorded_at DATETIME NOT NULL,
                UNIQUE (audit_id, trial_key)
            );
            CREATE INDEX trials_by_setting ON trials(audit_id, defence, attack);

            CREATE TABLE reconstructions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                trial_id INTEGER NOT NULL REFERENCES trials(id),
                image_index INTEGER NOT NULL,
                reconstruction_index INTEGER NOT NULL,
                true_label INTEGER NOT NULL,
                recovered_label INTEGER,
                mse REAL NOT NULL,
                psnr REAL,
                ssim REAL NOT NULL,
                success BOOLEAN NOT NULL,
                reconstruction_png BLOB NOT NULL,
                original_png BLOB NOT NULL,
                UNIQUE (trial_id, image_index)
            );

            CREATE TABLE utility_runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                audit_id INTEGER NOT NULL REFERENCES audits(id),
                defence TEXT NOT NULL,
                accuracy REAL NOT NULL,
                baseline_accuracy REAL NOT NULL,
                accuracy_drop REAL NOT NULL,
                rounds INTEGER NOT NULL,
                clients INTEGER NOT NULL,
                seed TEXT NOT NULL,
                seconds REAL NOT NULL,
                details TEXT,
                recorded_at DATETIME NOT NULL,
                UNIQUE (audit_id, defence)
            );

            CREATE TABLE recommendations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                audit_id INTEGER NOT NULL REFERENCES audits(id),
                position INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('site', 'recommended', 'setting', 'note')),
                setting TEXT,
                band TEXT,
                text TEXT NOT NULL
            );
            """)
    }

    /// The assessment of a finished audit (bands per setting and attack, the recommendation and its reason, the
    /// rules in force), written once in the transaction that finishes the audit; immutable like the rest.
    static func createAssessments(_ db: Database) throws {
        let refuse = "SELECT RAISE(ABORT, 'audit is finished: a finished audit cannot be changed');"
        try db.execute(sql: """
            CREATE TABLE assessments (
                audit_id INTEGER PRIMARY KEY REFERENCES audits(id),
                tool_version TEXT NOT NULL,
                assessment_json TEXT NOT NULL
            );
            CREATE TRIGGER assessments_finished_no_insert BEFORE INSERT ON assessments WHEN (SELECT status FROM audits WHERE id = NEW.audit_id) = 'finished' BEGIN \(refuse) END;
            CREATE TRIGGER assessments_finished_no_update BEFORE UPDATE ON assessments WHEN (SELECT status FROM audits WHERE id = OLD.audit_id) = 'finished' BEGIN \(refuse) END;
            CREATE TRIGGER assessments_finished_no_delete BEFORE DELETE ON assessments WHEN (SELECT status FROM audits WHERE id = OLD.audit_id) = 'finished' BEGIN \(refuse) END;
            """)
    }

    /// A finished audit can be neither changed nor deleted, nor can anything be added to it.
    static func createImmutabilityTriggers(_ db: Database) throws {
        let refuse = "SELECT RAISE(ABORT, 'audit is finished: a finished audit cannot be changed');"
        func finished(_ auditID: String) -> String { "(SELECT status FROM audits WHERE id = \(auditID)) = 'finished'" }
        func viaTrial(_ trialID: String) -> String {
            "(SELECT a.status FROM audits a JOIN trials t ON t.audit_id = a.id WHERE t.id = \(trialID)) = 'finished'"
        }
        var sql = """
            CREATE TRIGGER audits_finished_no_update BEFORE UPDATE ON audits WHEN OLD.status = 'finished' BEGIN \(refuse) END;
            CREATE TRIGGER audits_finished_no_delete BEFORE DELETE ON audits WHEN OLD.status = 'finished' BEGIN \(refuse) END;

            """
        for table in ["trials", "utility_runs", "recommendations"] {
            sql += """
                CREATE TRIGGER \(table)_finished_no_insert BEFORE INSERT ON \(table) WHEN \(finished("NEW.audit_id")) BEGIN \(refuse) END;
                CREATE TRIGGER \(table)_finished_no_update BEFORE UPDATE ON \(table) WHEN \(finished("OLD.audit_id")) BEGIN \(refuse) END;
                CREATE TRIGGER \(table)_finished_no_delete BEFORE DELETE ON \(table) WHEN \(finished("OLD.audit_id")) BEGIN \(refuse) END;

                """
        }
        sql += """
            CREATE TRIGGER reconstructions_finished_no_insert BEFORE INSERT ON reconstructions WHEN \(viaTrial("NEW.trial_id")) BEGIN \(refuse) END;
            CREATE TRIGGER reconstructions_finished_no_update BEFORE UPDATE ON reconstructions WHEN \(viaTrial("OLD.trial_id")) BEGIN \(refuse) END;
            CREATE TRIGGER reconstructions_finished_no_delete BEFORE DELETE ON reconstructions WHEN \(viaTrial("OLD.trial_id")) BEGIN \(refuse) END;
            """
        try db.execute(sql: sql)
    }

    /// Tamper-evidence (`AuditDigest`): the digest of each finished audit, written once when it finishes and
    /// never changed. Also closes what the v2 triggers left open: `INSERT OR REPLACE` deletes a conflicting row
    /// without firing DELETE triggers, so every table now refuses an insert whose id is a row of a finished
    /// audit, and `audits` refuses an insert that is finished already. And a run's lock names its process by
    /// PID, start time and boot (`process`), so a PID reused by another program is not taken for the owner.
    static func createDigests(_ db: Database) throws {
        let refuse = "SELECT RAISE(ABORT, 'audit is finished: a finished audit cannot be changed');"
        var sql = """
            ALTER TABLE audits ADD COLUMN process TEXT;
            CREATE TABLE audit_digests (
                audit_id INTEGER PRIMARY KEY REFERENCES audits(id),
                digest_version INTEGER NOT NULL,
                digest TEXT NOT NULL,
                row_hashes BLOB NOT NULL,
                shard_digests TEXT,
                signature TEXT,
                signing_key TEXT,
                computed_at DATETIME NOT NULL
            );
            CREATE TRIGGER audit_digests_no_update BEFORE UPDATE ON audit_digests BEGIN SELECT RAISE(ABORT, 'an audit digest cannot be changed'); END;
            CREATE TRIGGER audit_digests_no_delete BEFORE DELETE ON audit_digests BEGIN SELECT RAISE(ABORT, 'an audit digest cannot be changed'); END;
            CREATE TRIGGER audit_digests_insert BEFORE INSERT ON audit_digests
                WHEN (SELECT status FROM audits WHERE id = NEW.audit_id) IS NOT 'finished'
                  OR EXISTS (SELECT 1 FROM audit_digests WHERE audit_id = NEW.audit_id)
                BEGIN SELECT RAISE(ABORT, 'a digest is written once, when its audit finishes'); END;
            CREATE TRIGGER audits_finished_no_insert BEFORE INSERT ON audits
                WHEN NEW.status = 'finished' OR EXISTS (SELECT 1 FROM audits WHERE id = NEW.id AND status = 'finished')
                BEGIN \(refuse) END;

            """
        for table in ["trials", "utility_runs", "recommendations"] {
            sql += """
                CREATE TRIGGER \(table)_finished_no_replace BEFORE INSERT ON \(table)
                    WHEN EXISTS (SELECT 1 FROM \(table) x JOIN audits a ON a.id = x.audit_id WHERE x.id = NEW.id AND a.status = 'finished')
                    BEGIN \(refuse) END;

                """
        }
        sql += """
            CREATE TRIGGER reconstructions_finished_no_replace BEFORE INSERT ON reconstructions
                WHEN EXISTS (SELECT 1 FROM reconstructions r JOIN trials t ON t.id = r.trial_id JOIN audits a ON a.id = t.audit_id
                             WHERE r.id = NEW.id AND a.status = 'finished')
                BEGIN \(refuse) END;
            """
        try db.execute(sql: sql)
    }

    /// The evidence behind the verdicts (issue "Verdicts"): per trial the re-identification, prior-guess and
    /// convergence counters (`LeakageEvidence` as JSON) and the late loss drop; per reconstruction its
    /// re-identification ranks, pool size and prior SSIM. Rows of older audits keep NULL there; digest version 2
    /// covers these columns (finished audits keep the version they were digested with).
    static func addVerdictEvidence(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE trials ADD COLUMN leakage_evidence TEXT;
            ALTER TABLE trials ADD COLUMN late_loss_drop REAL;
            ALTER TABLE reconstructions ADD COLUMN reid_rank_ssim INTEGER;
            ALTER TABLE reconstructions ADD COLUMN reid_rank_features INTEGER;
            ALTER TABLE reconstructions ADD COLUMN reid_pool INTEGER;
            ALTER TABLE reconstructions ADD COLUMN prior_ssim REAL;
            """)
    }
}
