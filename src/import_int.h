/* import_int.h — the value side of import's --map presets, shared by
 * import.c (CRM → airlock) and changeset.c (airlock → CRM). Private to
 * those two: nothing else should translate CRM values.
 *
 * Every function here is pure (no store, no allocation it does not hand
 * back); unknown input is reported, never guessed. */
#ifndef AIRLOCK_IMPORT_INT_H
#define AIRLOCK_IMPORT_INT_H

#include <stddef.h>

struct import_country {
	const char *alpha2, *alpha3, *region;
	const char *names; /* '|'-separated: the ISO short name first */
};
extern const struct import_country import_countries[];

/* How a column's values are read after a preset or a map file. */
enum import_rule {
	IMPORT_RULE_TEXT,      /* as it is */
	IMPORT_RULE_LIFECYCLE, /* a CRM stage or type → lifecycle */
	IMPORT_RULE_REGION,    /* a country (or a region name) → NA/EMEA/APAC/LATAM */
	IMPORT_RULE_NUMBER,    /* "$1,200,000.00" → 1200000.00 */
	IMPORT_RULE_DATE,      /* the vendors' export formats → ISO 8601 */
	IMPORT_RULE_BOOL,      /* Yes/No/1/0/true/false → true/false */
};

/* The region of a country name or code (any case, punctuation ignored), or
 * of a region name itself ("EMEA", "North America"); NULL when unknown. */
const char *import_region_of(const char *text);

/* The lifecycle a preset's ("salesforce", "hubspot") Type / Lifecycle
 * Stage value means, any case; NULL when the value says nothing a guard can
 * rely on ("Other") or is unknown. */
const char *import_lifecycle_of(const char *preset, const char *text);
/* The values import_lifecycle_of accepts for a preset, for messages. */
const char *import_lifecycle_accepted(const char *preset);
/* The CRM value that stands for lifecycle in a preset's exports. */
const char *import_lifecycle_crm(const char *preset, const char *lifecycle);
/* HubSpot has no stage for a partner, competitor or former customer (they
 * go out as "other"): `export changes` in HubSpot's format then writes
 * airlock's lifecycle into this column too (a custom company property),
 * and the hubspot preset reads it where the stage is "other" or empty. */
#define IMPORT_HS_LIFECYCLE "airlock lifecycle"

/* Numbers as CRMs export them: currency symbols or codes, thousands
 * separators, spaces. buf gets plain digits with '.' as decimal point.
 * -1 when text is not such a number. */
int import_number(const char *text, char *buf, size_t len);
/* Dates as CRMs export them: 2026-03-01, 2026-03-01 09:30, 2026-03-01T09:30:00.000Z,
 * 2026-03-01T09:30:00.000+0000, 3/1/2026, 3/1/2026 9:30 AM (US month first).
 * buf gets YYYY-MM-DDTHH:MM:SSZ. -1 when not a date. */
int import_date(const char *text, char *buf, size_t len);
/* Yes/No, Y/N, 1/0, true/false, on/off (any case) → "true"/"false"; NULL
 * when none of them. */
const char *import_bool(const char *text);

#endif
