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
};

const int store_migration_count = sizeof store_migrations / sizeof store_migrations[0];
