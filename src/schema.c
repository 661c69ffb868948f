/* schema.c — the numbered migrations, applied in order by store_open().
 *
 * Append only: a released migration is never edited, a change is a new
 * number. Numbers are grouped by module so work on different modules does
 * not collide: 1–9 book, 10–19 audit log, 20–29 staging and the gate,
 * 30–39 connectors, 40–49 outreach, 50–59 drift, 60–69 console. */
#include "store.h"

const struct store_migration store_migrations[] = {
	{1, "book",
	 "CREATE TABLE account("
	 " id TEXT PRIMARY KEY,"
	 " name TEXT NOT NULL,"
	 " domain TEXT,"
	 " segment TEXT CHECK (segment IN ('smb','mid-market','enterprise')),"
	 " region TEXT,"
	 " industry TEXT,"
	 " owner TEXT,"
	 " tier INTEGER CHECK (tier BETWEEN 1 AND 4),"
	 " lifecycle TEXT NOT NULL DEFAULT 'prospect' CHECK (lifecycle IN"
	 "  ('prospect','customer','former_customer','competitor','partner')),"
	 " do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact IN (0,1)),"
	 " arr REAL,"
	 " employees INTEGER,"
	 " custom TEXT NOT NULL DEFAULT '{}',"
	 " merged_into TEXT,"
	 " version INTEGER NOT NULL DEFAULT 1,"
	 " updated_at TEXT NOT NULL);"
	 "CREATE INDEX account_segment ON account(segment);"
	 "CREATE INDEX account_region ON account(region);"
	 "CREATE INDEX account_tier ON account(tier);"
	 "CREATE INDEX account_lifecycle ON account(lifecycle);"
	 "CREATE INDEX account_owner ON account(owner);"
	 "CREATE INDEX account_domain ON account(domain);"
	 "CREATE TABLE contact("
	 " id TEXT PRIMARY KEY,"
	 " account_id TEXT NOT NULL REFERENCES account(id),"
	 " name TEXT,"
	 " email TEXT,"
	 " title TEXT,"
	 " do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact IN (0,1)),"
	 " unsubscribed INTEGER NOT NULL DEFAULT 0 CHECK (unsubscribed IN (0,1)),"
	 " custom TEXT NOT NULL DEFAULT '{}',"
	 " version INTEGER NOT NULL DEFAULT 1,"
	 " updated_at TEXT NOT NULL);"
	 "CREATE INDEX contact_account ON contact(account_id);"
	 "CREATE INDEX contact_email ON contact(email);"
	 "CREATE TABLE signal("
	 " id TEXT PRIMARY KEY,"
	 " account_id TEXT NOT NULL REFERENCES account(id),"
	 " kind TEXT NOT NULL,"
	 " observed_at TEXT NOT NULL,"
	 " detail TEXT,"
	 " version INTEGER NOT NULL DEFAULT 1,"
	 " updated_at TEXT NOT NULL);"
	 "CREATE INDEX signal_account ON signal(account_id, observed_at);"
	 "CREATE INDEX signal_kind ON signal(kind);"},
	{10, "action log",
	 /* The log proper. Every column but seq, prev_hash and hash is a
	  * query copy of a field of body, which alone is hashed (audit.h). */
	 "CREATE TABLE action_log("
	 " seq INTEGER PRIMARY KEY,"
	 " at TEXT NOT NULL,"
	 " principal TEXT NOT NULL,"
	 " surface TEXT NOT NULL,"
	 " tool TEXT NOT NULL,"
	 " instruction_version TEXT,"
	 " decision TEXT,"
	 " batch_id TEXT,"
	 " body TEXT NOT NULL,"
	 " prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
	 " hash BLOB NOT NULL CHECK (length(hash) = 32));"
	 "CREATE INDEX action_log_at ON action_log(at);"
	 "CREATE INDEX action_log_batch ON action_log(batch_id);"
	 "CREATE INDEX action_log_tool ON action_log(tool);"
	 "CREATE INDEX action_log_principal ON action_log(principal);"
	 /* Which entries concern which book record: derived from each body's
	  * record_ids, so it can be rebuilt from the log alone. */
	 "CREATE TABLE action_log_record("
	 " record_id TEXT NOT NULL,"
	 " seq INTEGER NOT NULL,"
	 " PRIMARY KEY (record_id, seq));"
	 /* The newest entry, so an append reads one row instead of searching. */
	 "CREATE TABLE action_log_head("
	 " id INTEGER PRIMARY KEY CHECK (id = 1),"
	 " seq INTEGER NOT NULL,"
	 " hash BLOB NOT NULL CHECK (length(hash) = 32));"
	 "INSERT INTO action_log_head(id, seq, hash) VALUES (1, 0,"
	 " X'0000000000000000000000000000000000000000000000000000000000000000');"
	 "CREATE TRIGGER action_log_no_update BEFORE UPDATE ON action_log"
	 " BEGIN SELECT RAISE(ABORT, 'action_log is append-only'); END;"
	 "CREATE TRIGGER action_log_no_delete BEFORE DELETE ON action_log"
	 " BEGIN SELECT RAISE(ABORT, 'action_log is append-only'); END;"
	 /* A stray INSERT (another tool, a hand-typed statement) must still
	  * extend the chain from its head or be refused. */
	 "CREATE TRIGGER action_log_chained BEFORE INSERT ON action_log"
	 " WHEN NEW.seq IS NOT (SELECT seq + 1 FROM action_log_head WHERE id = 1)"
	 "  OR NEW.prev_hash IS NOT (SELECT hash FROM action_log_head WHERE id = 1)"
	 " BEGIN SELECT RAISE(ABORT, 'action_log entries must extend the chain from its head'); END;"
	 "CREATE TRIGGER action_log_record_no_update BEFORE UPDATE ON action_log_record"
	 " BEGIN SELECT RAISE(ABORT, 'action_log is append-only'); END;"
	 "CREATE TRIGGER action_log_record_no_delete BEFORE DELETE ON action_log_record"
	 " BEGIN SELECT RAISE(ABORT, 'action_log is append-only'); END;"
	 "CREATE TRIGGER action_log_head_no_insert BEFORE INSERT ON action_log_head"
	 " BEGIN SELECT RAISE(ABORT, 'action_log_head has exactly one row'); END;"
	 "CREATE TRIGGER action_log_head_no_delete BEFORE DELETE ON action_log_head"
	 " BEGIN SELECT RAISE(ABORT, 'action_log_head has exactly one row'); END;"
	 "CREATE TRIGGER action_log_head_forward BEFORE UPDATE ON action_log_head"
	 " WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1"
	 "  OR NEW.hash IS NOT (SELECT hash FROM action_log WHERE seq = NEW.seq)"
	 " BEGIN SELECT RAISE(ABORT, 'action_log_head only moves to the newest entry'); END;"},
};

const int store_migration_count = sizeof store_migrations / sizeof store_migrations[0];
