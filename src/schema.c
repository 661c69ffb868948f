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
	 " segment TEXT CHECK (segment='smb' OR segment='mid-market' OR segment='enterprise'),"
	 " region TEXT,"
	 " industry TEXT,"
	 " owner TEXT,"
	 " tier INTEGER CHECK (tier BETWEEN 1 AND 4),"
	 " lifecycle TEXT NOT NULL DEFAULT 'prospect' CHECK (lifecycle='prospect' OR"
	 "  lifecycle='customer' OR lifecycle='former_customer' OR lifecycle='competitor' OR"
	 "  lifecycle='partner'),"
	 " do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact=0 OR do_not_contact=1),"
	 " arr REAL,"
	 " employees INTEGER,"
	 " custom TEXT NOT NULL DEFAULT '{}',"
	 " merged_into TEXT,"
	 " version INTEGER NOT NULL DEFAULT 1,"
	 " updated_at TEXT NOT NULL);"
	 /* No secondary indexes on account: segment, region, tier, lifecycle and
	  * owner have a handful of values each, so a page of search results is
	  * found faster by walking the primary key, and nothing looks accounts
	  * up by domain in SQL; every import and bulk apply would pay to keep
	  * such indexes (bench/README.md: import). */
	 "CREATE TABLE contact("
	 " id TEXT PRIMARY KEY,"
	 " account_id TEXT NOT NULL REFERENCES account(id),"
	 " name TEXT,"
	 " email TEXT,"
	 " title TEXT,"
	 " do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact=0 OR do_not_contact=1),"
	 " unsubscribed INTEGER NOT NULL DEFAULT 0 CHECK (unsubscribed=0 OR unsubscribed=1),"
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
	/* CRM round trips: how the last mapped import named each field (so a
	 * change-set writes the CRM's own columns and values back), the values a
	 * map file translated, every change-set written (its range and hash, so
	 * "since the last change-set" is remembered and a re-export is
	 * checkable), and the CRM's values a refresh brought for a record (what
	 * show prints beside a conflict). */
	{2, "crm round trips",
	 "CREATE TABLE crm_map("
	 " kind TEXT NOT NULL,"
	 " field TEXT NOT NULL,"
	 " crm_column TEXT NOT NULL,"
	 " preset TEXT,"
	 " rule TEXT NOT NULL DEFAULT 'text',"
	 " PRIMARY KEY (kind, field));"
	 "CREATE TABLE crm_value("
	 " kind TEXT NOT NULL,"
	 " field TEXT NOT NULL,"
	 " crm_value TEXT NOT NULL,"
	 " value TEXT NOT NULL,"
	 " PRIMARY KEY (kind, field, crm_value));"
	 "CREATE TABLE changeset("
	 " id INTEGER PRIMARY KEY,"
	 " at TEXT NOT NULL,"
	 " by_whom TEXT NOT NULL,"
	 " format TEXT NOT NULL,"
	 " mode TEXT NOT NULL CHECK (mode IN ('last','since','batch','again')),"
	 " since_seq INTEGER NOT NULL,"
	 " until_seq INTEGER NOT NULL,"
	 " batch_id INTEGER,"
	 " records INTEGER NOT NULL,"
	 " merges INTEGER NOT NULL,"
	 " hash TEXT NOT NULL);"
	 "CREATE TABLE crm_refresh("
	 " record_id TEXT NOT NULL,"
	 " log_seq INTEGER NOT NULL,"
	 " at TEXT NOT NULL,"
	 " crm TEXT NOT NULL,"
	 " PRIMARY KEY (record_id, log_seq));"},
	/* book_stats' figures, kept with the book rather than counted per call
	 * (nine whole-table aggregates took 5 s at 1M accounts). One row per
	 * figure and value: dim is the figure ("accounts", "segment", ...),
	 * val its value ('' with is_null=1 for NULL, which a primary key cannot
	 * hold). Triggers keep it, so every path that changes the book (tools,
	 * staging_apply's own UPDATEs, import's loader, undo, the sqlite3
	 * shell) keeps it right; rows may reach n=0 and are then not shown.
	 * Merged (tomb-stoned) accounts count nowhere, as before. */
	{3, "book tallies",
	 "CREATE TABLE book_tally("
	 " dim TEXT NOT NULL,"
	 " is_null INTEGER NOT NULL,"
	 " val TEXT NOT NULL,"
	 " n INTEGER NOT NULL,"
	 " PRIMARY KEY (dim, is_null, val)) WITHOUT ROWID;"
	 "CREATE TRIGGER book_tally_account_insert AFTER INSERT ON account"
	 " WHEN NEW.merged_into IS NULL BEGIN"
	 " INSERT INTO book_tally(dim, is_null, val, n)"
	 "  SELECT d, v IS NULL, coalesce(v, ''), 1 FROM (SELECT 'accounts' AS d, '' AS v"
	 "   UNION ALL SELECT 'accounts_do_not_contact', '' WHERE NEW.do_not_contact = 1"
	 "   UNION ALL SELECT 'segment', NEW.segment UNION ALL SELECT 'region', NEW.region"
	 "   UNION ALL SELECT 'tier', CAST(NEW.tier AS TEXT)"
	 "   UNION ALL SELECT 'lifecycle', NEW.lifecycle) WHERE 1"
	 "  ON CONFLICT DO UPDATE SET n = n + 1;"
	 " END;"
	 "CREATE TRIGGER book_tally_account_delete AFTER DELETE ON account"
	 " WHEN OLD.merged_into IS NULL BEGIN"
	 " UPDATE book_tally SET n = n - 1 WHERE (dim, is_null, val) IN ("
	 "  SELECT d, v IS NULL, coalesce(v, '') FROM (SELECT 'accounts' AS d, '' AS v"
	 "   UNION ALL SELECT 'accounts_do_not_contact', '' WHERE OLD.do_not_contact = 1"
	 "   UNION ALL SELECT 'segment', OLD.segment UNION ALL SELECT 'region', OLD.region"
	 "   UNION ALL SELECT 'tier', CAST(OLD.tier AS TEXT)"
	 "   UNION ALL SELECT 'lifecycle', OLD.lifecycle));"
	 " END;"
	 /* an update is the old row's figures out, the new row's in */
	 "CREATE TRIGGER book_tally_account_update AFTER UPDATE ON account"
	 " WHEN OLD.merged_into IS NOT NEW.merged_into OR OLD.do_not_contact IS NOT NEW.do_not_contact"
	 "  OR OLD.segment IS NOT NEW.segment OR OLD.region IS NOT NEW.region"
	 "  OR OLD.tier IS NOT NEW.tier OR OLD.lifecycle IS NOT NEW.lifecycle BEGIN"
	 " UPDATE book_tally SET n = n - 1 WHERE OLD.merged_into IS NULL AND (dim, is_null, val) IN ("
	 "  SELECT d, v IS NULL, coalesce(v, '') FROM (SELECT 'accounts' AS d, '' AS v"
	 "   UNION ALL SELECT 'accounts_do_not_contact', '' WHERE OLD.do_not_contact = 1"
	 "   UNION ALL SELECT 'segment', OLD.segment UNION ALL SELECT 'region', OLD.region"
	 "   UNION ALL SELECT 'tier', CAST(OLD.tier AS TEXT)"
	 "   UNION ALL SELECT 'lifecycle', OLD.lifecycle));"
	 " INSERT INTO book_tally(dim, is_null, val, n)"
	 "  SELECT d, v IS NULL, coalesce(v, ''), 1 FROM (SELECT 'accounts' AS d, '' AS v"
	 "   UNION ALL SELECT 'accounts_do_not_contact', '' WHERE NEW.do_not_contact = 1"
	 "   UNION ALL SELECT 'segment', NEW.segment UNION ALL SELECT 'region', NEW.region"
	 "   UNION ALL SELECT 'tier', CAST(NEW.tier AS TEXT)"
	 "   UNION ALL SELECT 'lifecycle', NEW.lifecycle) WHERE NEW.merged_into IS NULL"
	 "  ON CONFLICT DO UPDATE SET n = n + 1;"
	 " END;"
	 "CREATE TRIGGER book_tally_contact_insert AFTER INSERT ON contact BEGIN"
	 " INSERT INTO book_tally(dim, is_null, val, n)"
	 "  SELECT d, 0, '', 1 FROM (SELECT 'contacts' AS d UNION ALL"
	 "   SELECT 'contacts_not_reachable' WHERE NEW.do_not_contact = 1 OR NEW.unsubscribed = 1)"
	 "  WHERE 1 ON CONFLICT DO UPDATE SET n = n + 1;"
	 " END;"
	 "CREATE TRIGGER book_tally_contact_delete AFTER DELETE ON contact BEGIN"
	 " UPDATE book_tally SET n = n - 1 WHERE is_null = 0 AND val = '' AND (dim = 'contacts' OR"
	 "  (dim = 'contacts_not_reachable' AND (OLD.do_not_contact = 1 OR OLD.unsubscribed = 1)));"
	 " END;"
	 "CREATE TRIGGER book_tally_contact_update AFTER UPDATE ON contact"
	 " WHEN (OLD.do_not_contact = 1 OR OLD.unsubscribed = 1) IS NOT"
	 "  (NEW.do_not_contact = 1 OR NEW.unsubscribed = 1) BEGIN"
	 " INSERT INTO book_tally(dim, is_null, val, n)"
	 "  VALUES ('contacts_not_reachable', 0, '',"
	 "   CASE WHEN NEW.do_not_contact = 1 OR NEW.unsubscribed = 1 THEN 1 ELSE -1 END)"
	 "  ON CONFLICT DO UPDATE SET n = n + excluded.n;"
	 " END;"
	 "CREATE TRIGGER book_tally_signal_insert AFTER INSERT ON signal BEGIN"
	 " INSERT INTO book_tally(dim, is_null, val, n)"
	 "  SELECT d, v IS NULL, coalesce(v, ''), 1 FROM (SELECT 'signals' AS d, '' AS v"
	 "   UNION ALL SELECT 'signal_kind', NEW.kind) WHERE 1"
	 "  ON CONFLICT DO UPDATE SET n = n + 1;"
	 " END;"
	 "CREATE TRIGGER book_tally_signal_delete AFTER DELETE ON signal BEGIN"
	 " UPDATE book_tally SET n = n - 1 WHERE (dim = 'signals' AND is_null = 0 AND val = '')"
	 "  OR (dim = 'signal_kind' AND is_null = (OLD.kind IS NULL) AND val = coalesce(OLD.kind, ''));"
	 " END;"
	 "CREATE TRIGGER book_tally_signal_update AFTER UPDATE ON signal"
	 " WHEN OLD.kind IS NOT NEW.kind BEGIN"
	 " UPDATE book_tally SET n = n - 1 WHERE dim = 'signal_kind'"
	 "  AND is_null = (OLD.kind IS NULL) AND val = coalesce(OLD.kind, '');"
	 " INSERT INTO book_tally(dim, is_null, val, n)"
	 "  VALUES ('signal_kind', NEW.kind IS NULL, coalesce(NEW.kind, ''), 1)"
	 "  ON CONFLICT DO UPDATE SET n = n + 1;"
	 " END;"
	 /* a book that exists already is counted once, here */
	 "INSERT INTO book_tally(dim, is_null, val, n)"
	 " SELECT d, v IS NULL, coalesce(v, ''), count(*) FROM ("
	 "  SELECT 'accounts' AS d, '' AS v FROM account WHERE merged_into IS NULL"
	 "  UNION ALL SELECT 'accounts_do_not_contact', '' FROM account"
	 "   WHERE merged_into IS NULL AND do_not_contact = 1"
	 "  UNION ALL SELECT 'segment', segment FROM account WHERE merged_into IS NULL"
	 "  UNION ALL SELECT 'region', region FROM account WHERE merged_into IS NULL"
	 "  UNION ALL SELECT 'tier', CAST(tier AS TEXT) FROM account WHERE merged_into IS NULL"
	 "  UNION ALL SELECT 'lifecycle', lifecycle FROM account WHERE merged_into IS NULL"
	 "  UNION ALL SELECT 'contacts', '' FROM contact"
	 "  UNION ALL SELECT 'contacts_not_reachable', '' FROM contact"
	 "   WHERE do_not_contact = 1 OR unsubscribed = 1"
	 "  UNION ALL SELECT 'signals', '' FROM signal"
	 "  UNION ALL SELECT 'signal_kind', kind FROM signal)"
	 " GROUP BY d, v IS NULL, coalesce(v, '');"},
	/* search_accounts' text filter (a case-insensitive substring of name or
	 * domain) scanned every account: 0.7 s at 1M for a text that matches
	 * nothing. A trigram index finds the candidates; book.c still applies
	 * the LIKE it always did to them, so what matches is unchanged. The
	 * index reads name and domain from the account table (external
	 * content, keyed by account's rowid, which nothing rewrites: airlock
	 * never VACUUMs or REPLACEs accounts). */
	{4, "account text index",
	 "CREATE VIRTUAL TABLE account_text USING fts5(name, domain, content='account',"
	 " tokenize='trigram');"
	 "CREATE TRIGGER account_text_insert AFTER INSERT ON account BEGIN"
	 " INSERT INTO account_text(rowid, name, domain) VALUES (NEW.rowid, NEW.name, NEW.domain);"
	 " END;"
	 "CREATE TRIGGER account_text_delete AFTER DELETE ON account BEGIN"
	 " INSERT INTO account_text(account_text, rowid, name, domain)"
	 "  VALUES ('delete', OLD.rowid, OLD.name, OLD.domain);"
	 " END;"
	 "CREATE TRIGGER account_text_update AFTER UPDATE ON account"
	 " WHEN OLD.name IS NOT NEW.name OR OLD.domain IS NOT NEW.domain"
	 "  OR OLD.rowid IS NOT NEW.rowid BEGIN"
	 " INSERT INTO account_text(account_text, rowid, name, domain)"
	 "  VALUES ('delete', OLD.rowid, OLD.name, OLD.domain);"
	 " INSERT INTO account_text(rowid, name, domain) VALUES (NEW.rowid, NEW.name, NEW.domain);"
	 " END;"
	 "INSERT INTO account_text(account_text) VALUES ('rebuild');"},
	/* The trigram index without positions or column sizes (detail=none,
	 * columnsize=0): a third of its size, and an import's rebuild of it
	 * (most of an import's CPU beyond the rows themselves) about 2.5x
	 * cheaper. A search asks for the AND of the text's trigrams instead of
	 * the phrase (a superset again); book.c's LIKE still decides. Same
	 * name and triggers, so book_load's deferral applies unchanged. */
	{5, "account text index without positions",
	 "DROP TRIGGER account_text_insert;"
	 "DROP TRIGGER account_text_delete;"
	 "DROP TRIGGER account_text_update;"
	 "DROP TABLE account_text;"
	 "CREATE VIRTUAL TABLE account_text USING fts5(name, domain, content='account',"
	 " tokenize='trigram', detail=none, columnsize=0);"
	 "CREATE TRIGGER account_text_insert AFTER INSERT ON account BEGIN"
	 " INSERT INTO account_text(rowid, name, domain) VALUES (NEW.rowid, NEW.name, NEW.domain);"
	 " END;"
	 "CREATE TRIGGER account_text_delete AFTER DELETE ON account BEGIN"
	 " INSERT INTO account_text(account_text, rowid, name, domain)"
	 "  VALUES ('delete', OLD.rowid, OLD.name, OLD.domain);"
	 " END;"
	 "CREATE TRIGGER account_text_update AFTER UPDATE ON account"
	 " WHEN OLD.name IS NOT NEW.name OR OLD.domain IS NOT NEW.domain"
	 "  OR OLD.rowid IS NOT NEW.rowid BEGIN"
	 " INSERT INTO account_text(account_text, rowid, name, domain)"
	 "  VALUES ('delete', OLD.rowid, OLD.name, OLD.domain);"
	 " INSERT INTO account_text(rowid, name, domain) VALUES (NEW.rowid, NEW.name, NEW.domain);"
	 " END;"
	 "INSERT INTO account_text(account_text) VALUES ('rebuild');"},
	/* An import into the empty account table commits its rows without the
	 * trigram index (most of its CPU beyond the rows themselves) and marks
	 * the index behind with the one row of account_text_behind; the index
	 * is built afterwards in a transaction of its own (book.h:
	 * book_text_index_build, which the CLI runs on opening a book), and
	 * text search scans while the row is there, with the same answers.
	 * Meanwhile the triggers leave the index alone: the build reads every
	 * account anyway, and an FTS5 'delete' of an entry the index never had
	 * would damage it. A crash between the two leaves the row, so the next
	 * open builds it. */
	{6, "account text index built after a bulk load",
	 "CREATE TABLE account_text_behind(id INTEGER PRIMARY KEY CHECK (id = 1));"
	 "DROP TRIGGER account_text_insert;"
	 "DROP TRIGGER account_text_delete;"
	 "DROP TRIGGER account_text_update;"
	 "CREATE TRIGGER account_text_insert AFTER INSERT ON account"
	 " WHEN NOT EXISTS (SELECT 1 FROM account_text_behind) BEGIN"
	 " INSERT INTO account_text(rowid, name, domain) VALUES (NEW.rowid, NEW.name, NEW.domain);"
	 " END;"
	 "CREATE TRIGGER account_text_delete AFTER DELETE ON account"
	 " WHEN NOT EXISTS (SELECT 1 FROM account_text_behind) BEGIN"
	 " INSERT INTO account_text(account_text, rowid, name, domain)"
	 "  VALUES ('delete', OLD.rowid, OLD.name, OLD.domain);"
	 " END;"
	 "CREATE TRIGGER account_text_update AFTER UPDATE ON account"
	 " WHEN (OLD.name IS NOT NEW.name OR OLD.domain IS NOT NEW.domain"
	 "  OR OLD.rowid IS NOT NEW.rowid)"
	 "  AND NOT EXISTS (SELECT 1 FROM account_text_behind) BEGIN"
	 " INSERT INTO account_text(account_text, rowid, name, domain)"
	 "  VALUES ('delete', OLD.rowid, OLD.name, OLD.domain);"
	 " INSERT INTO account_text(rowid, name, domain) VALUES (NEW.rowid, NEW.name, NEW.domain);"
	 " END;"},
	/* 7 gives PostgreSQL a json_valid (airlock_json_text, store_pg_schema.c)
	 * for the read connector's page (store_sql_json_text); SQLite has
	 * json_valid() and json() built in. */
	{7, "json text of a column", "SELECT 1"},
	/* PostgreSQL only (store_pg_schema.c): the book's tallies appended per
	 * change and folded once at commit, where updating the same few rows
	 * for every changed account made one big transaction quadratic (each
	 * update of a row walks the versions the transaction left of it).
	 * SQLite updates its rows in place: nothing to change here. */
	{8, "book tallies folded at commit (PostgreSQL)", "SELECT 1;"},
	/* Whether account's rowids run in the order of its ids (one row):
	 * then the trigram index, which hands out candidates by rowid, hands
	 * them out in id order too, and a page of a text search stops after
	 * its first matches instead of reading every candidate to sort them
	 * (book.c, text_plan_make). A CRM export or airlock's own ids come in
	 * creation order, so a book usually keeps it. Kept by triggers, so
	 * every writer keeps it (the sqlite3 shell too): an insert that is not
	 * last in both orders, or a change of a row's id or rowid, clears it
	 * (conservatively: it may clear where the order still holds); an
	 * emptied table sets it again. book_load sets it after a load into the
	 * empty table from the order in which it inserted the ids. */
	{9, "account rowids in id order",
	 "CREATE TABLE account_order(one INTEGER PRIMARY KEY CHECK (one = 1),"
	 " in_id_order INTEGER NOT NULL CHECK (in_id_order IN (0, 1)));"
	 "INSERT INTO account_order(one, in_id_order) SELECT 1, NOT EXISTS ("
	 " SELECT 1 FROM (SELECT rowid - lag(rowid) OVER (ORDER BY id) AS d FROM account)"
	 " WHERE d < 0);"
	 "CREATE TRIGGER account_order_insert AFTER INSERT ON account"
	 " WHEN (SELECT in_id_order FROM account_order) = 1"
	 "  AND (EXISTS (SELECT 1 FROM account WHERE rowid > NEW.rowid)"
	 "   OR EXISTS (SELECT 1 FROM account WHERE id > NEW.id)) BEGIN"
	 " UPDATE account_order SET in_id_order = 0;"
	 " END;"
	 "CREATE TRIGGER account_order_update AFTER UPDATE ON account"
	 " WHEN (OLD.id IS NOT NEW.id OR OLD.rowid IS NOT NEW.rowid)"
	 "  AND (SELECT in_id_order FROM account_order) = 1 BEGIN"
	 " UPDATE account_order SET in_id_order = 0;"
	 " END;"
	 "CREATE TRIGGER account_order_delete AFTER DELETE ON account"
	 " WHEN (SELECT in_id_order FROM account_order) = 0"
	 "  AND NOT EXISTS (SELECT 1 FROM account) BEGIN"
	 " UPDATE account_order SET in_id_order = 1;"
	 " END;"},
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
	{12, "action log: the head moves once per group; reads skip the batch index",
	 /* A group commit of many entries wrote the head row once per entry,
	  * and every append checked the head: the head is now moved once,
	  * after a transaction's last entry, and a stray INSERT is checked
	  * against the entry before it instead (one rowid lookup, no head
	  * write). It must still extend the chain; an entry beyond the head
	  * is what verify reports (an insertion), as before. */
	 "DROP TRIGGER action_log_chained;"
	 "CREATE TRIGGER action_log_chained BEFORE INSERT ON action_log"
	 " WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM action_log), 0) + 1"
	 "  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM action_log WHERE seq = NEW.seq - 1),"
	 "   X'0000000000000000000000000000000000000000000000000000000000000000')"
	 " BEGIN SELECT RAISE(ABORT, 'action_log entries must extend the chain from its head'); END;"
	 "DROP TRIGGER action_log_head_forward;"
	 "CREATE TRIGGER action_log_head_forward BEFORE UPDATE ON action_log_head"
	 " WHEN NEW.id IS NOT OLD.id OR NEW.seq <= OLD.seq"
	 "  OR NEW.seq IS NOT (SELECT max(seq) FROM action_log)"
	 "  OR NEW.hash IS NOT (SELECT hash FROM action_log WHERE seq = NEW.seq)"
	 " BEGIN SELECT RAISE(ABORT, 'action_log_head only moves to the newest entry'); END;"
	 /* Reads (most entries) have no batch: only entries with one are
	  * indexed, and 'batch_id = ?' still uses the index. */
	 "DROP INDEX action_log_batch;"
	 "CREATE INDEX action_log_batch ON action_log(batch_id) WHERE batch_id IS NOT NULL;"},
	{16, "gate decision snapshots",
	 /* what the gate knew when it decided one proposal, beside its log
	  * entry (seq): with the policy it is all the decision depends on, so
	  * `airlock policy replay` can decide it again (gate_decide) */
	 "CREATE TABLE gate_snapshot("
	 " seq INTEGER PRIMARY KEY,"
	 " workflow TEXT NOT NULL, tool TEXT NOT NULL, action TEXT NOT NULL,"
	 " radius INTEGER NOT NULL, cumulative INTEGER NOT NULL, pending INTEGER NOT NULL,"
	 /* update proposals: the accepted records grouped by the fields
	  * their changes set, {"f1\nf2": records}, so a narrower allow-list
	  * can be replayed */
	 " fields TEXT,"
	 " decision TEXT NOT NULL);"},
	{20, "staging",
	 "CREATE TABLE batch("
	 " id INTEGER PRIMARY KEY,"
	 " principal TEXT NOT NULL,"
	 " surface TEXT NOT NULL,"
	 " workflow TEXT NOT NULL,"
	 " tool TEXT NOT NULL,"
	 " action TEXT NOT NULL CHECK (action IN ('update','merge','send')),"
	 " instruction_version TEXT,"
	 " scope TEXT,"
	 " rationale TEXT,"
	 " policy_digest TEXT,"
	 " state TEXT NOT NULL CHECK (state IN ('staged','sampled','blocked','approved',"
	 "  'applied','undone','rejected','expired')),"
	 " reasons TEXT NOT NULL DEFAULT '[]',"
	 " refused TEXT NOT NULL DEFAULT '[]',"
	 " radius INTEGER NOT NULL,"
	 " items INTEGER NOT NULL,"
	 " sample TEXT,"
	 " created_at TEXT NOT NULL,"
	 " expires_at TEXT,"
	 " updated_at TEXT NOT NULL,"
	 " decided_by TEXT, decided_at TEXT, reject_reason TEXT,"
	 " applied_by TEXT, applied_at TEXT, undone_by TEXT, undone_at TEXT);"
	 "CREATE INDEX batch_state ON batch(state, created_at);"
	 "CREATE INDEX batch_principal ON batch(principal, state);"
	 "CREATE TABLE batch_item("
	 " batch_id INTEGER NOT NULL REFERENCES batch(id),"
	 " idx INTEGER NOT NULL,"
	 " record_id TEXT NOT NULL,"
	 " changes TEXT NOT NULL,"
	 " before TEXT NOT NULL,"
	 " restore TEXT NOT NULL,"
	 " version INTEGER NOT NULL,"
	 " reasons TEXT NOT NULL DEFAULT '[]',"
	 " evidence TEXT NOT NULL DEFAULT '[]',"
	 " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
	 "  ('pending','conflict','undone','kept')),"
	 " moved TEXT,"
	 " sampled INTEGER NOT NULL DEFAULT 0,"
	 " verdict TEXT CHECK (verdict IN ('pass','fail')),"
	 " verdict_by TEXT, verdict_note TEXT,"
	 " PRIMARY KEY (batch_id, idx));"
	 "CREATE INDEX batch_item_record ON batch_item(record_id);"
	 "CREATE TABLE radius_ledger("
	 " seq INTEGER PRIMARY KEY,"
	 " principal TEXT NOT NULL, workflow TEXT NOT NULL, record_id TEXT NOT NULL,"
	 " batch_id INTEGER);"
	 "CREATE INDEX radius_ledger_pw ON radius_ledger(principal, workflow, seq);"
	 "CREATE TABLE radius_checkpoint("
	 " principal TEXT NOT NULL, workflow TEXT NOT NULL, ledger_seq INTEGER NOT NULL,"
	 " at TEXT NOT NULL, by_whom TEXT NOT NULL,"
	 " PRIMARY KEY (principal, workflow));"},
	{21, "autonomy",
	 "CREATE TABLE autonomy("
	 " workflow TEXT PRIMARY KEY,"
	 " state TEXT NOT NULL,"
	 " updated_at TEXT NOT NULL);"},
	/* The running radius kept incrementally (radius.h): which waiting batch
	 * holds which record, how many waiting batches hold each record of an
	 * agent's workflow, and the total per agent and workflow. Filled from
	 * the batches waiting now; the ledger and checkpoint it replaces go. */
	{22, "radius holds",
	 "CREATE TABLE radius_batch("
	 " batch_id INTEGER NOT NULL,"
	 " record_id TEXT NOT NULL,"
	 " principal TEXT NOT NULL,"
	 " workflow TEXT NOT NULL,"
	 " PRIMARY KEY (batch_id, record_id));"
	 "CREATE TABLE radius_hold("
	 " principal TEXT NOT NULL,"
	 " workflow TEXT NOT NULL,"
	 " record_id TEXT NOT NULL,"
	 " batches INTEGER NOT NULL CHECK (batches >= 0),"
	 " PRIMARY KEY (principal, workflow, record_id));"
	 "CREATE TABLE radius_total("
	 " principal TEXT NOT NULL,"
	 " workflow TEXT NOT NULL,"
	 " records INTEGER NOT NULL CHECK (records >= 0),"
	 " PRIMARY KEY (principal, workflow));"
	 "INSERT OR IGNORE INTO radius_batch(batch_id,record_id,principal,workflow)"
	 " SELECT b.id,'account:'||i.record_id,b.principal,b.workflow FROM batch b"
	 " JOIN batch_item i ON i.batch_id=b.id"
	 " WHERE b.state IN ('staged','sampled','blocked') AND b.action IN ('update','merge');"
	 "INSERT OR IGNORE INTO radius_batch(batch_id,record_id,principal,workflow)"
	 " SELECT b.id,'contact:'||c.id,b.principal,b.workflow FROM batch b"
	 " JOIN batch_item i ON i.batch_id=b.id JOIN contact c ON c.account_id=i.record_id"
	 " WHERE b.state IN ('staged','sampled','blocked') AND b.action='merge';"
	 "INSERT OR IGNORE INTO radius_batch(batch_id,record_id,principal,workflow)"
	 " SELECT b.id,'signal:'||g.id,b.principal,b.workflow FROM batch b"
	 " JOIN batch_item i ON i.batch_id=b.id JOIN signal g ON g.account_id=i.record_id"
	 " WHERE b.state IN ('staged','sampled','blocked') AND b.action='merge';"
	 "INSERT OR IGNORE INTO radius_batch(batch_id,record_id,principal,workflow)"
	 " SELECT b.id,'message:'||i.record_id||'/'||json_extract(r.value,'$.contact_id'),"
	 " b.principal,b.workflow FROM batch b JOIN batch_item i ON i.batch_id=b.id,"
	 " json_each(i.before,'$.recipients') r"
	 " WHERE b.state IN ('staged','sampled','blocked') AND b.action='send';"
	 "INSERT INTO radius_hold(principal,workflow,record_id,batches)"
	 " SELECT principal,workflow,record_id,count(*) FROM radius_batch"
	 " GROUP BY principal,workflow,record_id;"
	 "INSERT INTO radius_total(principal,workflow,records)"
	 " SELECT principal,workflow,count(*) FROM radius_hold GROUP BY principal,workflow;"
	 "DROP TABLE radius_ledger;"
	 "DROP TABLE radius_checkpoint;"},
	/* What the agent said its instruction version was, when it said one: a
	 * claim, kept apart from instruction_version (the connector's pin). */
	{23, "instruction claim",
	 "ALTER TABLE batch ADD COLUMN instruction_claim TEXT;"},
	{24, "merge re-checks and approval overrides",
	 /* apply asks "is anything merged into this account?" for every merge
	  * item; only tomb-stoned accounts are indexed, so imports of live
	  * accounts pay nothing for it */
	 "CREATE INDEX account_merged_into ON account(merged_into)"
	 " WHERE merged_into IS NOT NULL;"
	 /* a person approved past an unfinished, failed or undrawn sample:
	  * {"reason", "skipped"} (staging_approve_override) */
	 "ALTER TABLE batch ADD COLUMN override TEXT;"},
	/* The hold tables keyed by their primary keys alone (WITHOUT ROWID):
	 * each row lived twice, in the table and in its key's index, so a
	 * proposal's probe of radius_hold read two pages per record and its
	 * upsert wrote two b-trees, a random page of each at 1M held records
	 * (bench/README.md: staging at scale). */
	{25, "radius holds without rowid",
	 "CREATE TABLE radius_batch_k("
	 " batch_id INTEGER NOT NULL,"
	 " record_id TEXT NOT NULL,"
	 " principal TEXT NOT NULL,"
	 " workflow TEXT NOT NULL,"
	 " PRIMARY KEY (batch_id, record_id)) WITHOUT ROWID;"
	 "INSERT INTO radius_batch_k SELECT batch_id,record_id,principal,workflow FROM radius_batch;"
	 "DROP TABLE radius_batch;"
	 "ALTER TABLE radius_batch_k RENAME TO radius_batch;"
	 "CREATE TABLE radius_hold_k("
	 " principal TEXT NOT NULL,"
	 " workflow TEXT NOT NULL,"
	 " record_id TEXT NOT NULL,"
	 " batches INTEGER NOT NULL CHECK (batches >= 0),"
	 " PRIMARY KEY (principal, workflow, record_id)) WITHOUT ROWID;"
	 "INSERT INTO radius_hold_k SELECT principal,workflow,record_id,batches FROM radius_hold;"
	 "DROP TABLE radius_hold;"
	 "ALTER TABLE radius_hold_k RENAME TO radius_hold;"},
	{26, "reviewer reliability",
	 /* seeded checks per reviewer and workflow (reliability.h): a pass
	  * verdict is only worth what its reviewer's record says */
	 "CREATE TABLE reviewer_check("
	 " reviewer TEXT NOT NULL, workflow TEXT NOT NULL,"
	 " seen INTEGER NOT NULL DEFAULT 0, caught INTEGER NOT NULL DEFAULT 0,"
	 " missed INTEGER NOT NULL DEFAULT 0,"
	 /* finished samples of theirs whose verdicts did not count (weight 0) */
	 " discounted INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,"
	 " PRIMARY KEY (reviewer, workflow));"},
	{27, "seeded checks",
	 /* the synthetic wrong item shown in a sample in place of one drawn
	  * item (slot) until judged (staging.h); apart from batch_item, so
	  * nothing that applies, exports or undoes a batch can see it */
	 "CREATE TABLE seeded_check("
	 " batch_id INTEGER PRIMARY KEY REFERENCES batch(id),"
	 " slot INTEGER NOT NULL, kind TEXT NOT NULL, item TEXT NOT NULL,"
	 /* the secret seed it was made from: the check is re-derivable, but
	  * not from the sample's public seed */
	 " seed TEXT NOT NULL, created_at TEXT NOT NULL,"
	 " verdict TEXT CHECK (verdict IN ('pass','fail')), verdict_by TEXT, verdict_note TEXT,"
	 " verdict_at TEXT);"},
	/* A book index, numbered in the gate's group because the gate is why it
	 * exists: a proposal checks every cited signal's account (book.h:
	 * book_evidence_owners), and through signal's id index that is two
	 * b-tree descents per signal, the index then the table, each a random
	 * page at a million signals. Holding the account beside the id answers
	 * it from the index alone (SQLite's planner prefers the unique id index,
	 * so the lookup names this one: book.c). */
	{28, "signal owners by id",
	 "CREATE INDEX signal_owner ON signal(id, account_id);"},
	{30, "connector tokens",
	 "CREATE TABLE connector_token("
	 " id TEXT PRIMARY KEY,"
	 " connector TEXT NOT NULL CHECK (connector IN ('read','write')),"
	 " agent TEXT NOT NULL,"
	 " secret_hash TEXT NOT NULL,"
	 " created_at TEXT NOT NULL,"
	 " created_by TEXT NOT NULL,"
	 " revoked_at TEXT);"
	 "CREATE INDEX connector_token_agent ON connector_token(agent);"},
	/* upstream tools: the definition a person trusted, per tool (its hash
	 * and the definition itself, to show a diff), and one alert row per
	 * changed definition seen, until a person trusts that tool again. */
	{33, "upstream pins",
	 "CREATE TABLE upstream_pin("
	 " upstream TEXT NOT NULL, tool TEXT NOT NULL,"
	 " hash TEXT NOT NULL, definition TEXT NOT NULL,"
	 " trusted_by TEXT NOT NULL, trusted_at TEXT NOT NULL,"
	 " PRIMARY KEY (upstream, tool));"
	 "CREATE TABLE upstream_alert("
	 " id INTEGER PRIMARY KEY,"
	 " upstream TEXT NOT NULL, tool TEXT NOT NULL,"
	 " seen_hash TEXT NOT NULL, definition TEXT NOT NULL,"
	 " first_seen TEXT NOT NULL, resolved_at TEXT,"
	 " UNIQUE (upstream, tool, seen_hash));"},
	/* upstream writes (upwrite.h): what upstream and tool a batch writes
	 * through and how it is read and undone. */
	{34, "upstream batches",
	 "CREATE TABLE upstream_batch("
	 " batch_id INTEGER PRIMARY KEY,"
	 " upstream TEXT NOT NULL, tool TEXT NOT NULL,"
	 " action TEXT NOT NULL CHECK (action IN ('update','create','delete','send')),"
	 " before_tool TEXT, before_path TEXT,"
	 " undo_tool TEXT,"
	 " created_at TEXT NOT NULL);"},
	/* per record: the calls apply and undo make, and their journal (sent
	 * before the call, done or failed after its answer; sent alone is
	 * unknown until a re-read says). idx 0 is the one call of a create,
	 * delete or send. */
	{35, "upstream calls",
	 "CREATE TABLE upstream_item("
	 " batch_id INTEGER NOT NULL, idx INTEGER NOT NULL, record_id TEXT NOT NULL,"
	 " read_args TEXT, apply_args TEXT NOT NULL, undo_args TEXT,"
	 " apply_state TEXT NOT NULL DEFAULT 'pending' CHECK (apply_state IN"
	 "  ('pending','sent','done','failed','conflict')),"
	 " apply_sent_at TEXT, apply_answered_at TEXT, apply_answer TEXT,"
	 " undo_state TEXT NOT NULL DEFAULT 'pending' CHECK (undo_state IN"
	 "  ('pending','sent','done','failed','conflict')),"
	 " undo_sent_at TEXT, undo_answered_at TEXT, undo_answer TEXT,"
	 " PRIMARY KEY (batch_id, idx));"},
	/* who carries out a call (upwrite.h): the token of the apply or undo
	 * that journaled it as sent, new for every attempt, so two resumes of
	 * the same unknown record cannot both claim it (a compare-and-set on
	 * the token), and a resume sees a call another process has in flight. */
	{36, "upstream call claims",
	 "ALTER TABLE upstream_item ADD COLUMN apply_claim TEXT;"
	 "ALTER TABLE upstream_item ADD COLUMN undo_claim TEXT;"},
	/* OAuth 2.1 (oauth.h): codes and tokens are kept as BLAKE2b hashes
	 * only; a grant is one admin's consent, the family every token of it
	 * belongs to (revoking it ends them all). */
	{37, "oauth",
	 "CREATE TABLE oauth_client("
	 " id TEXT PRIMARY KEY,"
	 " name TEXT NOT NULL,"
	 " redirect_uris TEXT NOT NULL,"
	 " created_at TEXT NOT NULL);"
	 "CREATE TABLE oauth_code("
	 " code_hash TEXT PRIMARY KEY,"
	 " client_id TEXT NOT NULL,"
	 " redirect_uri TEXT NOT NULL,"
	 " challenge TEXT NOT NULL,"
	 " connector TEXT NOT NULL CHECK (connector IN ('read','write')),"
	 " agent TEXT NOT NULL,"
	 " resource TEXT NOT NULL,"
	 " scope TEXT,"
	 " granted_by TEXT NOT NULL,"
	 " created_at TEXT NOT NULL,"
	 " expires_at TEXT NOT NULL,"
	 " used_at TEXT,"
	 " grant_id TEXT);"
	 "CREATE INDEX oauth_code_client ON oauth_code(client_id);"
	 "CREATE TABLE oauth_grant("
	 " id TEXT PRIMARY KEY,"
	 " client_id TEXT NOT NULL,"
	 " connector TEXT NOT NULL CHECK (connector IN ('read','write')),"
	 " agent TEXT NOT NULL,"
	 " resource TEXT NOT NULL,"
	 " scope TEXT,"
	 " granted_by TEXT NOT NULL,"
	 " created_at TEXT NOT NULL,"
	 " revoked_at TEXT,"
	 " revoked_why TEXT);"
	 "CREATE INDEX oauth_grant_client ON oauth_grant(client_id);"
	 "CREATE TABLE oauth_token("
	 " token_hash TEXT PRIMARY KEY,"
	 " grant_id TEXT NOT NULL REFERENCES oauth_grant(id),"
	 " kind TEXT NOT NULL CHECK (kind IN ('access','refresh')),"
	 " created_at TEXT NOT NULL,"
	 " expires_at TEXT NOT NULL,"
	 " used_at TEXT);"
	 "CREATE INDEX oauth_token_grant ON oauth_token(grant_id);"},
	{40, "outreach",
	 /* draft: what an agent wrote, with the audience it declared (canonical
	  * scope text); the recipients are draft_recipient rows. */
	 "CREATE TABLE draft("
	 " id TEXT PRIMARY KEY,"
	 " account_id TEXT NOT NULL,"
	 " subject TEXT NOT NULL,"
	 " body TEXT NOT NULL,"
	 " audience TEXT NOT NULL,"
	 " workflow TEXT,"
	 " principal TEXT NOT NULL,"
	 " instruction_version TEXT,"
	 " status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','discarded',"
	 "  'send_requested','approved','sent','failed','unknown','blocked')),"
	 " findings TEXT NOT NULL DEFAULT '[]',"
	 " created_at TEXT NOT NULL,"
	 " updated_at TEXT NOT NULL);"
	 "CREATE INDEX draft_account ON draft(account_id, created_at);"
	 "CREATE INDEX draft_status ON draft(status, created_at);"
	 "CREATE TABLE draft_recipient("
	 " draft_id TEXT NOT NULL REFERENCES draft(id),"
	 " position INTEGER NOT NULL,"
	 " contact_id TEXT NOT NULL,"
	 " address TEXT NOT NULL,"
	 " name TEXT,"
	 " PRIMARY KEY (draft_id, contact_id));"
	 "CREATE INDEX draft_recipient_contact ON draft_recipient(contact_id);"
	 "CREATE TABLE brief("
	 " id TEXT PRIMARY KEY,"
	 " account_id TEXT NOT NULL,"
	 " text TEXT NOT NULL,"
	 " evidence TEXT NOT NULL DEFAULT '[]',"
	 " principal TEXT NOT NULL,"
	 " instruction_version TEXT,"
	 " created_at TEXT NOT NULL);"
	 "CREATE INDEX brief_account ON brief(account_id, created_at);"
	 /* outbox: one row per message; (draft_id, contact_id) is unique, so a
	  * draft can never queue a second message to the same contact. */
	 "CREATE TABLE outbox("
	 " id INTEGER PRIMARY KEY,"
	 " draft_id TEXT NOT NULL REFERENCES draft(id),"
	 " contact_id TEXT NOT NULL,"
	 " address TEXT NOT NULL,"
	 " message_id TEXT NOT NULL UNIQUE,"
	 " state TEXT NOT NULL DEFAULT 'intended' CHECK (state IN ('intended','sending','sent',"
	 "  'failed','unknown','blocked','cancelled')),"
	 " attempts INTEGER NOT NULL DEFAULT 0,"
	 " next_attempt_at TEXT NOT NULL,"
	 " last_error TEXT,"
	 " claimed_by TEXT,"
	 " claim_until TEXT,"
	 " created_at TEXT NOT NULL,"
	 " updated_at TEXT NOT NULL,"
	 " sent_at TEXT,"
	 " UNIQUE (draft_id, contact_id));"
	 "CREATE INDEX outbox_due ON outbox(state, next_attempt_at);"
	 "CREATE INDEX outbox_contact ON outbox(contact_id, state);"
	 "CREATE TABLE touch("
	 " contact_id TEXT NOT NULL,"
	 " at TEXT NOT NULL,"
	 " outbox_id INTEGER REFERENCES outbox(id));"
	 "CREATE INDEX touch_contact ON touch(contact_id, at);"},
	/* drift: one alert row per metric and episode (consecutive windows of
	 * one shift), so a held shift is one alert a person acknowledges once;
	 * the pinned baseline; and an index to read a range of batches by time. */
	{50, "drift",
	 "CREATE TABLE drift_alert("
	 " id INTEGER PRIMARY KEY,"
	 " metric TEXT NOT NULL,"
	 " label TEXT NOT NULL DEFAULT '',"
	 " window_seconds INTEGER NOT NULL,"
	 " window_start TEXT NOT NULL,"
	 " window_end TEXT NOT NULL,"
	 " value REAL, reference REAL, statistic REAL, threshold REAL,"
	 " test TEXT NOT NULL,"
	 " severity TEXT NOT NULL CHECK (severity IN ('moderate','significant')),"
	 " causes TEXT NOT NULL DEFAULT '[]',"
	 " first_seen TEXT NOT NULL,"
	 " last_seen TEXT NOT NULL,"
	 " acked_by TEXT, ack_cause TEXT, acked_at TEXT,"
	 " UNIQUE (metric, label, window_seconds, window_start));"
	 "CREATE INDEX drift_alert_window ON drift_alert(window_end);"
	 "CREATE TABLE drift_baseline("
	 " id INTEGER PRIMARY KEY CHECK (id = 1),"
	 " from_at TEXT NOT NULL,"
	 " to_at TEXT NOT NULL,"
	 " set_by TEXT NOT NULL,"
	 " set_at TEXT NOT NULL);"
	 "CREATE INDEX batch_created ON batch(created_at);"},
	{60, "console reviewers",
	 /* reviewer: a person who may open the console. pw_hash is libsodium's
	  * crypto_pwhash_str (Argon2id) text, NULL for a link-only reviewer. */
	 "CREATE TABLE reviewer("
	 " name TEXT PRIMARY KEY,"
	 " role TEXT NOT NULL CHECK (role IN ('viewer','reviewer','admin')),"
	 " pw_hash TEXT,"
	 " created_at TEXT NOT NULL,"
	 " created_by TEXT NOT NULL,"
	 " disabled_at TEXT);"
	 /* sessions and one-time links keep only a BLAKE2b hash of their secret */
	 "CREATE TABLE reviewer_session("
	 " id_hash TEXT PRIMARY KEY,"
	 " name TEXT NOT NULL REFERENCES reviewer(name),"
	 " csrf TEXT NOT NULL,"
	 " created_at TEXT NOT NULL,"
	 " expires_at TEXT NOT NULL);"
	 "CREATE INDEX reviewer_session_name ON reviewer_session(name);"
	 "CREATE TABLE reviewer_link("
	 " token_hash TEXT PRIMARY KEY,"
	 " name TEXT NOT NULL REFERENCES reviewer(name),"
	 " created_at TEXT NOT NULL,"
	 " expires_at TEXT NOT NULL,"
	 " used_at TEXT);"
	 "CREATE INDEX reviewer_link_name ON reviewer_link(name);"
	 /* failed sign-ins, for the per-name rate limit */
	 "CREATE TABLE reviewer_failure("
	 " name TEXT NOT NULL,"
	 " at TEXT NOT NULL);"
	 "CREATE INDEX reviewer_failure_name ON reviewer_failure(name, at);"},
	{61, "notifications",
	 /* notify: an outbox of pointers to what waits for a person; ref makes
	  * one event one notification however often it is enqueued. */
	 "CREATE TABLE notify("
	 " id INTEGER PRIMARY KEY,"
	 " ref TEXT NOT NULL UNIQUE,"
	 " kind TEXT NOT NULL,"
	 " text TEXT NOT NULL,"
	 " url TEXT NOT NULL,"
	 " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent',"
	 "  'failed')),"
	 " attempts INTEGER NOT NULL DEFAULT 0,"
	 " next_at TEXT NOT NULL,"
	 " claim_until TEXT,"
	 " last_error TEXT,"
	 " created_at TEXT NOT NULL,"
	 " sent_at TEXT);"
	 "CREATE INDEX notify_due ON notify(state, next_at);"},
	/* The book's generation, for the account objects book_cache keeps
	 * between pages (book_cache.h): one number, set anew in the same
	 * transaction as every UPDATE or DELETE of an account, by triggers,
	 * so every writer moves it (the tools, apply, undo, import, `airlock
	 * sql --write`, the sqlite3 shell). Random rather than counted: two
	 * copies of one database written apart do not come to the same number
	 * with different accounts, and no hand-set value can bring an old one
	 * back. An INSERT needs none: an id new to the book was not kept. */
	{62, "book generation",
	 "CREATE TABLE book_gen(one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL);"
	 "INSERT INTO book_gen(one, n) VALUES (1, random());"
	 "CREATE TRIGGER book_gen_update AFTER UPDATE ON account BEGIN"
	 " UPDATE book_gen SET n = random();"
	 " END;"
	 "CREATE TRIGGER book_gen_delete AFTER DELETE ON account BEGIN"
	 " UPDATE book_gen SET n = random();"
	 " END;"},
};

const int store_migration_count = sizeof store_migrations / sizeof store_migrations[0];
