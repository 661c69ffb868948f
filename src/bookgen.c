/* bookgen.c — a realistic, reproducible demo book from (accounts, seed). */
#include "bookgen.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"

/* A value with its weight: every skewed choice is a table of these. */
struct wpick {
	const char *v;
	int w;
};

#define NELEM(a) ((int)(sizeof a / sizeof a[0]))

enum { SEG_SMB, SEG_MID, SEG_ENT };
static const struct wpick segments[] = {{"smb", 60}, {"mid-market", 30}, {"enterprise", 10}};

/* Tier given segment: enterprise accounts are more often top priority, and
 * the mix over the whole book comes to about 5% / 15% / 35% / 45%. */
static const int tier_weights[3][4] = {
    {20, 92, 333, 555},	  /* smb */
    {60, 200, 400, 340},  /* mid-market */
    {200, 350, 300, 150}, /* enterprise */
};

enum { LC_PROSPECT, LC_CUSTOMER, LC_FORMER, LC_COMPETITOR, LC_PARTNER };
static const struct wpick lifecycles[] = {{"prospect", 765},
					  {"customer", 150},
					  {"former_customer", 50},
					  {"competitor", 15},
					  {"partner", 20}};

struct country {
	const char *name, *tld, *legal;
	int w;
};

struct region {
	const char *name;
	int w;
	const struct country *countries;
	int ncountries;
	const char *const *owners;
	int nowners;
};

static const struct country na[] = {{"United States", ".com", "Inc.", 80},
				    {"Canada", ".ca", "Ltd.", 20}};
static const struct country emea[] = {{"United Kingdom", ".co.uk", "Ltd", 30},
				      {"Germany", ".de", "GmbH", 25},
				      {"France", ".fr", "SAS", 15},
				      {"Netherlands", ".nl", "B.V.", 10},
				      {"Sweden", ".se", "AB", 8},
				      {"Spain", ".es", "S.L.", 7},
				      {"United Arab Emirates", ".ae", "LLC", 5}};
static const struct country apac[] = {{"Australia", ".com.au", "Pty Ltd", 30},
				      {"Japan", ".jp", "K.K.", 25},
				      {"Singapore", ".sg", "Pte Ltd", 20},
				      {"India", ".in", "Pvt Ltd", 25}};
static const struct country latam[] = {{"Brazil", ".com.br", "Ltda", 45},
				       {"Mexico", ".mx", "S.A. de C.V.", 35},
				       {"Chile", ".cl", "SpA", 10},
				       {"Colombia", ".co", "S.A.S.", 10}};

/* Reps own the accounts of their region. */
static const char *const owners_na[] = {"Maya Okafor", "Daniel Reyes", "Hannah Brooks",
					"Marcus Hill", "Rachel Kim"};
static const char *const owners_emea[] = {"Jonas Berg", "Chloe Martin", "Tomasz Nowak"};
static const char *const owners_apac[] = {"Aiko Tanaka", "Priya Raman"};
static const char *const owners_latam[] = {"Sofia Alvarez", "Mateo Rojas"};

static const struct region regions[] = {
    {"NA", 45, na, NELEM(na), owners_na, NELEM(owners_na)},
    {"EMEA", 30, emea, NELEM(emea), owners_emea, NELEM(owners_emea)},
    {"APAC", 15, apac, NELEM(apac), owners_apac, NELEM(owners_apac)},
    {"LATAM", 10, latam, NELEM(latam), owners_latam, NELEM(owners_latam)},
};

struct industry {
	const char *name;
	int w;
	const char *words[5]; /* the word after the company name, NULL-ended */
};

static const struct industry industries[] = {
    {"software", 18, {"Software", "Systems", "Labs", "Cloud", NULL}},
    {"manufacturing", 12, {"Manufacturing", "Industries", "Components", NULL}},
    {"healthcare", 10, {"Health", "Medical", "Care", NULL}},
    {"fintech", 9, {"Pay", "Financial", "Capital", NULL}},
    {"retail", 9, {"Retail", "Goods", "Outfitters", NULL}},
    {"professional services", 8, {"Consulting", "Advisory", "Group", NULL}},
    {"logistics", 7, {"Logistics", "Freight", "Transport", NULL}},
    {"education", 5, {"Learning", "Academy", NULL}},
    {"media", 5, {"Media", "Studios", "Publishing", NULL}},
    {"energy", 5, {"Energy", "Power", "Renewables", NULL}},
    {"insurance", 5, {"Insurance", "Assurance", NULL}},
    {"telecom", 4, {"Telecom", "Networks", NULL}},
    {"real estate", 3, {"Properties", "Realty", NULL}},
    {"biotech", 3, {"Biosciences", "Therapeutics", NULL}},
};

/* Company names are ROOT+tail ("Cedarforge"): invented, not looked up. */
static const char *const roots[] = {
    "Alder",  "Amber",	 "Anvil",   "Arbor",	"Aspen",   "Basalt", "Birch",	"Bramble",
    "Canyon", "Cedar",	 "Cinder",  "Cobalt",	"Copper",  "Coral",  "Cypress", "Ember",
    "Fern",   "Flint",	 "Garnet",  "Glacier",	"Granite", "Harbor", "Hazel",	"Heron",
    "Indigo", "Juniper", "Kestrel", "Larch",	"Linden",  "Lumen",  "Maple",	"Marble",
    "Meadow", "Onyx",	 "Orchid",  "Osprey",	"Pebble",  "Quartz", "Raven",	"Saffron",
    "Slate",  "Sorrel",	 "Spruce",  "Tamarack", "Thistle", "Tundra", "Willow",	"Wren"};
static const char *const tails[] = {
    "bay",  "bridge", "brook", "crest", "dale", "field", "ford", "forge", "gate", "haven",
    "hill", "hurst",  "lake",  "light", "line", "mark",	 "mont", "point", "port", "ridge",
    "rock", "shore",  "stone", "vale",	"view", "wick",	 "wood", "works", "loop", "path"};

static const struct wpick sources[] = {
    {"outbound", 35}, {"inbound", 30}, {"list_import", 17}, {"event", 10}, {"partner_referral", 8}};

static const char *const first_names[] = {
    "Ada",   "Adrian", "Aisha", "Alex",	   "Amara",  "Ana",    "Andre", "Ben",	  "Carla",  "Chen",
    "Chris", "Dana",   "David", "Elena",   "Emil",   "Fatima", "Felix", "Grace",  "Hana",   "Ines",
    "Ivan",  "James",  "Jin",	"Julia",   "Kai",    "Karim",  "Laura", "Leo",	  "Lina",   "Lucas",
    "Mei",   "Mia",    "Nadia", "Nikhil",  "Noah",   "Olivia", "Omar",	"Paula",  "Rafael", "Ravi",
    "Rosa",  "Sam",    "Sara",	"Sven",	   "Tariq",  "Tess",   "Uma",	"Victor", "Wei",    "Yusuf",
    "Zara",  "Ethan",  "Freya", "Gabriel", "Ingrid", "Kenji"};
static const char *const last_names[] = {
    "Abbott",  "Adeyemi",  "Bauer",  "Castro", "Chowdhury", "Costa",   "Dubois",
    "Eriksen", "Fischer",  "Garcia", "Gupta",  "Haddad",    "Hansen",  "Ito",
    "Jensen",  "Kowalski", "Larsen", "Lopez",  "Mbeki",	    "Meyer",   "Moreau",
    "Murphy",  "Nakamura", "Novak",  "Okoro",  "Olsen",	    "Park",    "Patel",
    "Petrov",  "Quinn",	   "Ramos",  "Rossi",  "Sato",	    "Schmidt", "Silva",
    "Singh",   "Sullivan", "Suzuki", "Tan",    "Torres",    "Varga",   "Walsh",
    "Weber",   "Wong",	   "Yilmaz", "Zhang",  "Lindqvist", "Oduya",   "Brennan"};
static const char *const titles[] = {"Chief Executive Officer",
				     "Chief Revenue Officer",
				     "Chief Financial Officer",
				     "Chief Technology Officer",
				     "VP of Sales",
				     "VP of Marketing",
				     "Head of Revenue Operations",
				     "Director of Sales",
				     "Director of Marketing",
				     "Sales Operations Manager",
				     "Marketing Operations Manager",
				     "IT Director",
				     "Procurement Manager",
				     "Head of Customer Success",
				     "Head of Growth",
				     "Data Engineering Lead",
				     "Sales Development Manager",
				     "Founder"};

/* Contacts per account (1..5), by segment. */
static const int contact_weights[3][5] = {
    {35, 30, 20, 10, 5}, {15, 25, 30, 20, 10}, {5, 15, 25, 30, 25}};
/* Signals per account (0..6): most have few; tiers 1-2 have more, which is
 * partly why they are tiered up. */
static const int signal_weights[2][7] = {{30, 25, 18, 12, 8, 4, 3}, {10, 15, 20, 20, 15, 10, 10}};

enum { SIG_INTENT, SIG_HIRING, SIG_NEWS, SIG_TECH, SIG_FUNDING, SIG_USAGE, SIG_KINDS };
static const char *const signal_kinds[SIG_KINDS] = {"intent",	    "hiring",  "news",
						    "tech_install", "funding", "usage"};
/* usage only exists where the account uses the product */
static const int kind_weights[2][SIG_KINDS] = {{24, 22, 16, 14, 8, 0}, {20, 16, 12, 10, 5, 25}};

static const char *const topics[] = {"sales engagement platform", "revenue intelligence",
				     "data enrichment",		  "CRM migration",
				     "pipeline forecasting",	  "account-based marketing",
				     "conversation analytics",	  "territory planning"};
static const char *const tools[] = {"marketing automation platform",
				    "product analytics tool",
				    "customer data platform",
				    "data warehouse",
				    "sales engagement tool",
				    "conversation intelligence tool",
				    "CPQ system",
				    "support ticketing system"};
static const char *const investors[] = {"Foxglove Ventures",	"Tidewater Capital",
					"Lanternfield Capital", "Saltmarsh Partners",
					"Bellwether Growth",	"Quillstone Ventures"};
static const char *const cities[] = {"Austin",	  "Toronto",  "Dublin",	   "Berlin",
				     "Singapore", "Sydney",   "Sao Paulo", "Mexico City",
				     "Amsterdam", "Bangalore"};
static const char *const teams[] = {"engineering", "sales", "support", "marketing"};
static const char *const leaders[] = {"Sales", "Marketing", "Revenue Operations",
				      "Customer Success"};

/* xoshiro256** seeded through splitmix64: small, fast, and the same stream
 * everywhere, unlike rand(). Every draw is a statement of its own, never
 * one of several arguments of a call: C leaves the order in which arguments
 * are evaluated open, and gcc and clang pick different ones, which would
 * give two books from one seed. */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-40 for
 * the small n used here). */
static int64_t rng_below(struct rng *r, int64_t n)
{
	return (int64_t)(((unsigned __int128)rng_next(r) * (uint64_t)n) >> 64);
}

/* In [0, n), skewed towards 0 (density ~ log(n/x)): sizes, ages. */
static int64_t rng_skew(struct rng *r, int64_t n)
{
	return rng_below(r, rng_below(r, n) + 1);
}

static int rng_chance(struct rng *r, int per_mille)
{
	return rng_below(r, 1000) < per_mille;
}

static int rng_weighted(struct rng *r, const int *w, int n)
{
	int i, total = 0;
	int64_t x;

	for (i = 0; i < n; i++)
		total += w[i];
	x = rng_below(r, total);
	for (i = 0; i < n - 1; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

#define PICK(r, arr) ((arr)[rng_below((r), NELEM(arr))])

/* rng_weighted over a table of structs with a weight member w. */
#define WEIGHTED(r, arr, n)                                                                        \
	({                                                                                         \
		int w_[64], i_;                                                                    \
		for (i_ = 0; i_ < (n); i_++)                                                       \
			w_[i_] = (arr)[i_].w;                                                      \
		rng_weighted((r), w_, (n));                                                        \
	})

/* Days since 1970-01-01 for a civil date, and back (Howard Hinnant's
 * algorithms): dates without the C library's time zone machinery. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The book time `days` after (or before, when negative) the epoch. */
static void epoch_plus(int64_t days, int h, int mi, char *buf, size_t len)
{
	int y, m, d;

	civil_from_days(days_from_civil(2026, 11, 1) + days, &y, &m, &d);
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:00Z", y, m, d, h, mi);
}

/* The set of domains already given out: 64-bit hashes, open addressing. A
 * hash collision only costs a retry, and retries are seeded too. */
struct domset {
	uint64_t *slot;
	size_t cap; /* a power of two, at least twice the entries */
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

/* 1 when added, 0 when already there. */
static int domset_add(struct domset *d, const char *domain)
{
	uint64_t h = fnv1a(domain);
	size_t i = (size_t)h & (d->cap - 1);

	for (; d->slot[i]; i = (i + 1) & (d->cap - 1))
		if (d->slot[i] == h)
			return 0;
	d->slot[i] = h;
	return 1;
}

struct gen {
	struct store *s;
	struct rng r;
	struct domset domains;
	struct bookgen_summary sum;
	char now[32];
};

/* What the contacts and signals of an account need to know about it. */
struct acct {
	char id[24], name[160], domain[96];
	int segment, region, industry, tier, lifecycle;
};

static void lower_alnum(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++) {
		char c = *in;

		if (c >= 'A' && c <= 'Z')
			out[o++] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[o++] = c;
	}
	out[o] = '\0';
}

/* A fictional company name and a domain no other account has. After a few
 * clashes a number goes into the domain, so a big book always terminates. */
static void gen_name(struct gen *g, struct acct *a, const struct country *c)
{
	const struct industry *ind = &industries[a->industry];
	char base[64], dom[64];
	const char *root, *tail, *iw;
	size_t used;
	int tries, nwords = 0;

	while (ind->words[nwords])
		nwords++;
	for (tries = 0;; tries++) {
		do {
			root = PICK(&g->r, roots);
			tail = PICK(&g->r, tails);
		} while (strcasecmp(root, tail) == 0);
		(void)snprintf(base, sizeof base, "%s%s", root, tail);
		iw = rng_chance(&g->r, 700) ? ind->words[rng_below(&g->r, nwords)] : NULL;
		lower_alnum(base, dom, sizeof dom);
		used = strlen(dom);
		if (iw && rng_chance(&g->r, 400))
			lower_alnum(iw, dom + used, sizeof dom - used);
		used = strlen(dom);
		if (tries >= 16)
			(void)snprintf(dom + used, sizeof dom - used, "%d", tries - 14);
		/* half the companies outside the US still use a .com */
		(void)snprintf(a->domain, sizeof a->domain, "%s%s", dom,
			       strcmp(c->tld, ".com") != 0 && rng_chance(&g->r, 500) ? ".com"
										     : c->tld);
		if (domset_add(&g->domains, a->domain))
			break;
	}
	(void)snprintf(a->name, sizeof a->name, "%s%s%s", base, iw ? " " : "", iw ? iw : "");
	if (rng_chance(&g->r, 250)) {
		used = strlen(a->name);
		(void)snprintf(a->name + used, sizeof a->name - used, " %s", c->legal);
	}
}

/* Employees and, for customers, ARR: per segment, ARR roughly a seat price
 * times the head count. Integer arithmetic only (see the header). */
static void gen_size(struct gen *g, const struct acct *a, int64_t *employees, int64_t *arr)
{
	static const int64_t lo[3] = {5, 200, 2000}, span[3] = {195, 1800, 78000},
			     seat[3] = {300, 180, 60};
	int64_t e = lo[a->segment] + rng_skew(&g->r, span[a->segment]);
	int64_t v = e * seat[a->segment] * (40 + rng_below(&g->r, 121)) / 100;

	*employees = e;
	v = (v + 50) / 100 * 100;
	*arr = v < 3000 ? 3000 : v;
}

static int gen_account(struct gen *g, int64_t n, struct acct *a, struct err *err)
{
	const struct region *reg;
	const struct country *c;
	json_t *rec, *custom;
	int64_t employees, arr;
	const char *owner, *source;
	char renewal[32];
	int rc, dnc;

	memset(a, 0, sizeof *a);
	(void)snprintf(a->id, sizeof a->id, "A%07lld", (long long)n);
	a->segment = WEIGHTED(&g->r, segments, NELEM(segments));
	a->region = WEIGHTED(&g->r, regions, NELEM(regions));
	reg = &regions[a->region];
	c = &reg->countries[WEIGHTED(&g->r, reg->countries, reg->ncountries)];
	a->industry = WEIGHTED(&g->r, industries, NELEM(industries));
	a->tier = 1 + rng_weighted(&g->r, tier_weights[a->segment], 4);
	a->lifecycle = WEIGHTED(&g->r, lifecycles, NELEM(lifecycles));
	gen_name(g, a, c);
	gen_size(g, a, &employees, &arr);
	owner = reg->owners[rng_below(&g->r, reg->nowners)];
	dnc = rng_chance(&g->r, 30);
	source = sources[WEIGHTED(&g->r, sources, NELEM(sources))].v;
	custom = json_pack("{s:s,s:s}", "source", source, "country", c->name);
	if (custom && a->lifecycle == LC_CUSTOMER) {
		epoch_plus(1 + rng_below(&g->r, 365), 0, 0, renewal, sizeof renewal);
		renewal[10] = '\0';
		json_object_set_new(custom, "renewal_date", json_string(renewal));
	}
	rec =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:b,s:o,s:I,s:o*}", "id", a->id, "name",
		      a->name, "domain", a->domain, "segment", segments[a->segment].v, "region",
		      reg->name, "industry", industries[a->industry].name, "owner", owner, "tier",
		      a->tier, "lifecycle", lifecycles[a->lifecycle].v, "do_not_contact", dnc,
		      "arr", a->lifecycle == LC_CUSTOMER ? json_real((double)arr) : json_null(),
		      "employees", (json_int_t)employees, "custom", custom);
	if (!rec)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = book_insert_at(g->s, BOOK_ACCOUNT, rec, g->now, err);
	json_decref(rec);
	if (rc == 0)
		g->sum.accounts++;
	return rc;
}

/* 1-5 people at the account, e-mail addresses unique within it. */
static int gen_contacts(struct gen *g, const struct acct *a, struct err *err)
{
	char emails[5][224], local[96], first_l[32], last_l[48], email[224], name[96], id[24];
	int i, j, k, n = 1 + rng_weighted(&g->r, contact_weights[a->segment], 5), rc;
	const char *first, *last, *title;
	int dnc, unsub;
	json_t *rec;

	for (i = 0; i < n; i++) {
		first = PICK(&g->r, first_names);
		last = PICK(&g->r, last_names);
		(void)snprintf(name, sizeof name, "%s %s", first, last);
		lower_alnum(first, first_l, sizeof first_l);
		lower_alnum(last, last_l, sizeof last_l);
		k = (int)rng_below(&g->r, 100);
		if (k < 60)
			(void)snprintf(local, sizeof local, "%s.%s", first_l, last_l);
		else if (k < 85 || a->segment != SEG_SMB)
			(void)snprintf(local, sizeof local, "%c%s", first_l[0], last_l);
		else
			(void)snprintf(local, sizeof local, "%s", first_l);
		(void)snprintf(email, sizeof email, "%s@%s", local, a->domain);
		for (j = 0, k = 2; j < i; j++) {
			if (strcmp(emails[j], email) == 0) {
				(void)snprintf(email, sizeof email, "%s%d@%s", local, k++,
					       a->domain);
				j = -1; /* check the new address against all again */
			}
		}
		(void)snprintf(emails[i], sizeof emails[i], "%s", email);
		(void)snprintf(id, sizeof id, "C%08lld", (long long)(g->sum.contacts + 1));
		title = PICK(&g->r, titles);
		dnc = rng_chance(&g->r, 20);
		unsub = rng_chance(&g->r, 30);
		rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "id", id, "account_id", a->id,
				"name", name, "email", email, "title", title, "do_not_contact", dnc,
				"unsubscribed", unsub);
		if (!rec)
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		rc = book_insert_at(g->s, BOOK_CONTACT, rec, g->now, err);
		json_decref(rec);
		if (rc)
			return rc;
		g->sum.contacts++;
	}
	return 0;
}

static void detail_funding(struct gen *g, const struct acct *a, char *buf, size_t len)
{
	const char *inv = PICK(&g->r, investors);
	int coin = rng_chance(&g->r, 500), k = (int)rng_below(&g->r, 30);

	if (a->segment == SEG_SMB)
		(void)snprintf(buf, len, "raised a $%dM %s led by %s", 2 + k / 2,
			       coin ? "seed round" : "Series A", inv);
	else if (a->segment == SEG_MID)
		(void)snprintf(buf, len, "raised a $%dM Series %c led by %s", 20 + 3 * k,
			       coin ? 'B' : 'C', inv);
	else if (coin)
		(void)snprintf(buf, len, "closed a $%dM credit facility", 100 + 50 * (k % 9));
	else
		(void)snprintf(buf, len, "acquired a smaller competitor for $%dM", 40 + 10 * k);
}

/* The readable detail of a signal: what a rep would see in a feed. Each
 * case draws its word, then its number, then prints. */
static void gen_detail(struct gen *g, const struct acct *a, int kind, char *buf, size_t len)
{
	struct rng *r = &g->r;
	int v = (int)rng_below(r, 4), k;
	const char *w;

	switch (kind) {
	case SIG_HIRING:
		w = v == 1 ? PICK(r, leaders) : PICK(r, teams);
		k = (int)rng_below(r, 36);
		if (v == 0)
			(void)snprintf(buf, len,
				       "posted %d open roles for sales development representatives",
				       2 + k / 4);
		else if (v == 1)
			(void)snprintf(buf, len, "hiring a VP of %s", w);
		else
			(void)snprintf(buf, len, "%s headcount up %d%% in the last 90 days", w,
				       5 + k);
		break;
	case SIG_FUNDING:
		detail_funding(g, a, buf, len);
		break;
	case SIG_INTENT:
		w = PICK(r, topics);
		k = (int)rng_skew(r, 60);
		if (v < 2)
			(void)snprintf(buf, len, "researching '%s' (%d page views this week)", w,
				       3 + k);
		else if (v == 2)
			(void)snprintf(buf, len, "intent surge on '%s': score %d/100", w,
				       60 + k * 2 / 3);
		else
			(void)snprintf(buf, len, "visited the pricing page %d times in 7 days",
				       2 + k / 5);
		break;
	case SIG_USAGE:
		w = rng_chance(r, 650) ? "up" : "down";
		k = (int)rng_below(r, 76);
		if (v == 0)
			(void)snprintf(buf, len, "weekly active users %s %d%% over 30 days", w,
				       5 + k / 2);
		else if (v == 1)
			(void)snprintf(buf, len, "seat utilisation at %d%% of licensed seats",
				       25 + k);
		else if (v == 2)
			(void)snprintf(buf, len, "reached %d%% of the plan's API limit",
				       70 + k * 30 / 75);
		else
			(void)snprintf(buf, len, "no admin login for %d days", 14 + k * 46 / 75);
		break;
	case SIG_NEWS:
		w = PICK(r, cities);
		k = (int)rng_below(r, 45);
		if (v == 0)
			(void)snprintf(buf, len, "opened a new office in %s", w);
		else if (v == 1)
			(void)snprintf(buf, len, "appointed a new Chief Revenue Officer");
		else if (v == 2)
			(void)snprintf(buf, len, "reported revenue up %d%% year over year", 3 + k);
		else
			(void)snprintf(buf, len, "announced layoffs of about %d%% of staff",
				       5 + k / 3);
		break;
	default:
		w = PICK(r, tools);
		if (v == 0)
			(void)snprintf(buf, len, "replaced their %s", w);
		else
			(void)snprintf(buf, len, "added a %s to their stack", w);
		break;
	}
}

/* 0-6 recent signals, newest mostly within the last few weeks. */
static int gen_signals(struct gen *g, const struct acct *a, struct err *err)
{
	int uses = a->lifecycle == LC_CUSTOMER || a->lifecycle == LC_PARTNER;
	int i, kind, funded = 0, n = rng_weighted(&g->r, signal_weights[a->tier <= 2], 7), rc;
	int64_t ago;
	int hour, minute;
	char id[24], at[32], detail[256];
	json_t *rec;

	for (i = 0; i < n; i++) {
		kind = rng_weighted(&g->r, kind_weights[uses], SIG_KINDS);
		/* two funding rounds in one quarter would read as a glitch */
		if (kind == SIG_FUNDING && funded++)
			kind = SIG_NEWS;
		ago = 1 + rng_skew(&g->r, 90);
		hour = 7 + (int)rng_below(&g->r, 12);
		minute = (int)rng_below(&g->r, 60);
		epoch_plus(-ago, hour, minute, at, sizeof at);
		gen_detail(g, a, kind, detail, sizeof detail);
		(void)snprintf(id, sizeof id, "S%08lld", (long long)(g->sum.signals + 1));
		rec = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "account_id", a->id, "kind",
				signal_kinds[kind], "observed_at", at, "detail", detail);
		if (!rec)
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		rc = book_insert_at(g->s, BOOK_SIGNAL, rec, g->now, err);
		json_decref(rec);
		if (rc)
			return rc;
		g->sum.signals++;
	}
	return 0;
}

void bookgen_opts_init(struct bookgen_opts *o)
{
	memset(o, 0, sizeof *o);
	o->accounts = BOOKGEN_DEFAULT_ACCOUNTS;
	o->seed = BOOKGEN_DEFAULT_SEED;
}

static int book_is_empty(struct store *s, struct err *err)
{
	struct store_stmt *st;
	int64_t n = 0;
	int rc = store_prepare(s, "SELECT count(*) FROM account", &st, err);

	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		n = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	if (rc == 0 && n > 0)
		rc = err_set(err, AIRLOCK_EEXIST,
			     "%s already holds %lld account%s; the demo book goes into an empty "
			     "database only",
			     store_path(s), (long long)n, n == 1 ? "" : "s");
	return rc;
}

int bookgen_generate(struct store *s, const struct bookgen_opts *opts, struct bookgen_summary *out,
		     struct err *err)
{
	struct bookgen_opts def;
	struct gen g;
	struct acct a;
	int64_t i;
	int rc;

	if (!opts) {
		bookgen_opts_init(&def);
		opts = &def;
	}
	if (opts->accounts < 1 || opts->accounts > BOOKGEN_MAX_ACCOUNTS)
		return err_set(err, AIRLOCK_EINVAL, "accounts: %lld is outside 1..%d",
			       (long long)opts->accounts, BOOKGEN_MAX_ACCOUNTS);
	memset(&g, 0, sizeof g);
	g.s = s;
	rng_seed(&g.r, opts->seed);
	(void)snprintf(g.now, sizeof g.now, "%s", BOOKGEN_EPOCH);
	for (g.domains.cap = 64; g.domains.cap < (size_t)opts->accounts * 2; g.domains.cap *= 2)
		;
	g.domains.slot = calloc(g.domains.cap, sizeof *g.domains.slot);
	if (!g.domains.slot)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = book_is_empty(s, err);
	for (i = 1; rc == 0 && i <= opts->accounts; i++) {
		rc = gen_account(&g, i, &a, err);
		if (rc == 0)
			rc = gen_contacts(&g, &a, err);
		if (rc == 0)
			rc = gen_signals(&g, &a, err);
		if (rc == 0 && opts->progress && (i % 1000 == 0 || i == opts->accounts))
			opts->progress(opts->progress_ctx, i, opts->accounts);
	}
	if (rc) {
		store_rollback(s);
		goto out;
	}
	rc = store_commit(s, err);
	if (rc == 0 && out)
		*out = g.sum;
out:
	free(g.domains.slot);
	return rc;
}
