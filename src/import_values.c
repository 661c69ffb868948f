/* import_values.c — CRM values to airlock's and back (see import_int.h). */
#include "import_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Lowercase letters and digits only, "the" dropped: "Korea, Republic of"
 * and "Korea (the Republic of)" read alike. Returns 0, or -1 when it does
 * not fit. */
static int fold(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		if (!strncasecmp((const char *)p, "the", 3) &&
		    (p == (const unsigned char *)s || !isalnum(p[-1])) && !isalnum(p[3])) {
			p += 3;
			continue;
		}
		if (isalnum(*p) || *p >= 0x80) {
			if (o + 1 >= len)
				return -1;
			buf[o++] = (char)tolower(*p);
		}
		p++;
	}
	buf[o] = '\0';
	return 0;
}

static const struct {
	const char *name, *region;
} regions[] = {
    {"emea", "EMEA"},	    {"apac", "APAC"},	{"latam", "LATAM"},	 {"na", "NA"},
    {"northamerica", "NA"}, {"europe", "EMEA"}, {"asiapacific", "APAC"}, {"latinamerica", "LATAM"},
    {NULL, NULL},
};

const char *import_region_of(const char *text)
{
	char want[160], one[160], name[160];
	const struct import_country *c;
	const char *p, *bar;
	int i;

	if (fold(text, want, sizeof want) || !want[0])
		return NULL;
	for (c = import_countries; c->alpha2; c++) {
		if (!strcasecmp(text, c->alpha2) || !strcasecmp(text, c->alpha3))
			return c->region;
		for (p = c->names; p; p = bar ? bar + 1 : NULL) {
			size_t n;

			bar = strchr(p, '|');
			n = bar ? (size_t)(bar - p) : strlen(p);
			if (n >= sizeof name)
				continue;
			memcpy(name, p, n);
			name[n] = '\0';
			if (!fold(name, one, sizeof one) && !strcmp(one, want))
				return c->region;
		}
	}
	/* "NA" is Namibia above: a region name only where no country is */
	for (i = 0; regions[i].name; i++)
		if (!strcmp(want, regions[i].name))
			return regions[i].region;
	return NULL;
}

struct stage {
	const char *crm, *lifecycle; /* lifecycle NULL: says nothing (Other) */
};

/* Salesforce Account.Type's standard picklist, plus the two values orgs
 * most often add and airlock writes back for its own lifecycles. */
static const struct stage sf_stages[] = {
    {"Prospect", "prospect"},
    {"Customer - Direct", "customer"},
    {"Customer - Channel", "customer"},
    {"Channel Partner / Reseller", "partner"},
    {"Installation Partner", "partner"},
    {"Technology Partner", "partner"},
    {"Former Customer", "former_customer"},
    {"Competitor", "competitor"},
    {"Other", NULL},
    {NULL, NULL},
};

/* HubSpot lifecyclestage: internal values and the labels exports write. An
 * evangelist is a customer who speaks for you: guarded as a customer. */
static const struct stage hs_stages[] = {
    {"subscriber", "prospect"},
    {"lead", "prospect"},
    {"marketingqualifiedlead", "prospect"},
    {"Marketing Qualified Lead", "prospect"},
    {"salesqualifiedlead", "prospect"},
    {"Sales Qualified Lead", "prospect"},
    {"opportunity", "prospect"},
    {"customer", "customer"},
    {"evangelist", "customer"},
    {"other", NULL},
    {NULL, NULL},
};

static const struct stage *stages_of(const char *preset)
{
	if (preset && !strcasecmp(preset, "salesforce"))
		return sf_stages;
	if (preset && !strcasecmp(preset, "hubspot"))
		return hs_stages;
	return NULL;
}

const char *import_lifecycle_of(const char *preset, const char *text)
{
	static const char *const own[] = {"prospect",	"customer", "former_customer",
					  "competitor", "partner",  NULL};
	const struct stage *st = stages_of(preset);
	int i;

	for (; st && st->crm; st++)
		if (!strcasecmp(st->crm, text))
			return st->lifecycle;
	for (i = 0; own[i]; i++)
		if (!strcasecmp(own[i], text))
			return own[i];
	return NULL;
}

const char *import_lifecycle_accepted(const char *preset)
{
	if (preset && !strcasecmp(preset, "salesforce"))
		return "Prospect, Customer - Direct, Customer - Channel, Channel Partner / "
		       "Reseller, Installation Partner, Technology Partner, Former Customer, "
		       "Competitor (Other says nothing: give a default in a map file)";
	if (preset && !strcasecmp(preset, "hubspot"))
		return "subscriber, lead, marketingqualifiedlead, salesqualifiedlead, "
		       "opportunity, customer, evangelist, or their labels (other says "
		       "nothing: give a default in a map file)";
	return "prospect, customer, former_customer, competitor, partner";
}

const char *import_lifecycle_crm(const char *preset, const char *lifecycle)
{
	static const struct stage sf_back[] = {
	    {"Prospect", "prospect"},
	    {"Customer - Direct", "customer"},
	    {"Channel Partner / Reseller", "partner"},
	    {"Former Customer", "former_customer"},
	    {"Competitor", "competitor"},
	    {NULL, NULL},
	};
	static const struct stage hs_back[] = {
	    {"lead", "prospect"},	  {"customer", "customer"}, {"other", "partner"},
	    {"other", "former_customer"}, {"other", "competitor"},  {NULL, NULL},
	};
	const struct stage *st = NULL;

	if (preset && !strcasecmp(preset, "salesforce"))
		st = sf_back;
	else if (preset && !strcasecmp(preset, "hubspot"))
		st = hs_back;
	for (; st && st->crm; st++)
		if (!strcmp(st->lifecycle, lifecycle))
			return st->crm;
	return lifecycle;
}

int import_number(const char *text, char *buf, size_t len)
{
	static const char *const prefixes[] = {"USD",	       "EUR",	   "GBP",      "CAD",
					       "AUD",	       "JPY",	   "CHF",      "$",
					       "\xe2\x82\xac", "\xc2\xa3", "\xc2\xa5", NULL};
	const char *p = text;
	size_t o = 0, group = 0;
	int i, neg = 0, digits = 0, dot = 0, seps = 0, matched;

	do {
		matched = 0;
		while (*p == ' ')
			p++;
		if (*p == '-' && !neg && !digits) {
			neg = 1;
			p++;
			matched = 1;
		}
		for (i = 0; prefixes[i]; i++)
			if (!strncmp(p, prefixes[i], strlen(prefixes[i]))) {
				p += strlen(prefixes[i]);
				matched = 1;
			}
	} while (matched);
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			digits++;
			group++;
		} else if (*p == ',' && !dot && digits) {
			/* a thousands separator: groups of three after the first */
			if (seps && group != 3)
				return -1;
			if (!seps && group > 3)
				return -1;
			seps++;
			group = 0;
			continue;
		} else if (*p == '.' && !dot) {
			if (seps && group != 3)
				return -1;
			dot = 1;
		} else
			break;
		if (o + 1 >= len)
			return -1;
		buf[o++] = *p;
	}
	if (seps && !dot && group != 3)
		return -1;
	while (*p == ' ')
		p++;
	/* a trailing currency code ("1,200 USD") */
	for (i = 0; *p && prefixes[i]; i++)
		if (!strcmp(p, prefixes[i]))
			p += strlen(p);
	if (*p || !digits)
		return -1;
	buf[o] = '\0';
	return 0;
}

static int date_ok(int y, int mo, int d, int h, int mi, int s)
{
	return y >= 1900 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 &&
	       h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

int import_date(const char *text, char *buf, size_t len)
{
	int y, mo, d, h = 0, mi = 0, s = 0, n = 0, ms = 0, r;
	char ampm[3] = "";
	const char *p;

	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
		p = text + 10;
		if (*p == 'T' || *p == ' ') {
			r = sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n);
			if (r != 2)
				return -1;
			p += 1 + n;
			if (*p == ':' && sscanf(p + 1, "%2d%n", &s, &n) == 1)
				p += 1 + n;
			if (*p == '.' && sscanf(p + 1, "%3d%n", &ms, &n) == 1)
				p += 1 + n;
			/* Salesforce writes UTC as Z or +0000; other offsets are not
			 * converted, so they are refused rather than misread */
			if (!strcmp(p, "Z") || !strcmp(p, "+0000") || !strcmp(p, "+00:00"))
				p += strlen(p);
		}
		if (*p)
			return -1;
	} else if (sscanf(text, "%2d/%2d/%4d%n", &mo, &d, &y, &n) == 3 && n >= 8 &&
		   text[n - 5] == '/') {
		p = text + n;
		if (*p == ' ') {
			if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
				return -1;
			p += 1 + n;
			if (*p == ':' && sscanf(p + 1, "%2d%n", &s, &n) == 1)
				p += 1 + n;
			if (*p == ' ' && sscanf(p + 1, "%2[AaPpMm]%n", ampm, &n) == 1) {
				p += 1 + n;
				if (h < 1 || h > 12)
					return -1;
				if (!strcasecmp(ampm, "AM"))
					h = h == 12 ? 0 : h;
				else if (!strcasecmp(ampm, "PM"))
					h = h == 12 ? 12 : h + 12;
				else
					return -1;
			}
		}
		if (*p)
			return -1;
	} else
		return -1;
	if (!date_ok(y, mo, d, h, mi, s))
		return -1;
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
	return 0;
}

const char *import_bool(const char *text)
{
	static const char *const yes[] = {"yes", "y", "1", "true", "on", NULL};
	static const char *const no[] = {"no", "n", "0", "false", "off", NULL};
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(text, yes[i]))
			return "true";
	for (i = 0; no[i]; i++)
		if (!strcasecmp(text, no[i]))
			return "false";
	return NULL;
}
