/* bench_scope.c — scope_match() over N account records, against a
 * hand-written C predicate for the same condition on the same JSON objects
 * (the fastest a programmer would write without a filter language),
 * measured in the same run.
 *
 *   usage: bench_scope N ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scope.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static json_t *account(int i)
{
	static const char *const seg[] = {"smb", "mid-market", "enterprise"};
	static const char *const reg[] = {"EMEA", "North America", "APAC", "LATAM"};
	static const char *const life[] = {"prospect", "customer", "former_customer", "partner"};
	static const char *const plan[] = {"gold", "silver", "bronze"};
	char id[32];

	snprintf(id, sizeof id, "A%07d", i);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:n,s:s,s:i,s:s,s:b,s:f,s:i,s:{s:s,s:i},s:n,s:i,"
			 "s:s}",
			 "id", id, "name", "Company", "domain", "example.test", "segment", seg[rnd(3)],
			 "region", reg[rnd(4)], "industry", "owner", "kim", "tier", 1 + (int)rnd(4),
			 "lifecycle", life[rnd(4)], "do_not_contact", rnd(10) == 0, "arr",
			 (double)rnd(200000), "employees", (int)rnd(5000), "custom", "plan",
			 plan[rnd(3)], "seats", (int)rnd(100), "merged_into", "version", 1,
			 "updated_at", "2026-11-01T00:00:00Z");
}

/* The same conditions as the two scopes, written by hand. */
/* The same conditions as the two scopes, written by hand, each field looked
 * up only when the ones before it matched (as scope_match does). */
static int by_hand_1(json_t *a)
{
	const char *life = json_string_value(json_object_get(a, "lifecycle")), *seg;
	json_t *tier;

	if (!life || strcmp(life, "prospect"))
		return 0;
	seg = json_string_value(json_object_get(a, "segment"));
	if (!seg || (strcmp(seg, "smb") && strcmp(seg, "mid-market")))
		return 0;
	tier = json_object_get(a, "tier");
	if (!json_is_integer(tier) || json_integer_value(tier) > 2)
		return 0;
	return !json_is_true(json_object_get(a, "do_not_contact"));
}

static int by_hand_2(json_t *a)
{
	const char *reg = json_string_value(json_object_get(a, "region")), *plan;

	if (!reg || (strcasecmp(reg, "EMEA") && strcasecmp(reg, "North America")))
		return 0;
	plan = json_string_value(json_object_get(json_object_get(a, "custom"), "plan"));
	if (!plan || strcasecmp(plan, "gold"))
		return 0;
	return json_number_value(json_object_get(a, "arr")) > 50000;
}

static void run(const char *text, int (*hand)(json_t *), json_t **accts, int n, int rounds)
{
	struct scope *s = NULL;
	struct err err = {0};
	double t0, t_scope, t_hand;
	long m_scope = 0, m_hand = 0;
	int r, i;

	if (scope_parse(text, &s, &err)) {
		fprintf(stderr, "bench_scope: %s\n", err.msg);
		exit(1);
	}
	for (i = 0; i < n; i++) /* warm both up on the same records */
		m_hand += hand(accts[i]) - scope_match(s, accts[i]);
	t_hand = t_scope = 0;
	for (r = 0; r < rounds; r++) { /* alternate, so both see the same machine */
		t0 = now_s();
		for (i = 0; i < n; i++)
			m_hand += hand(accts[i]);
		t_hand += now_s() - t0;
		t0 = now_s();
		for (i = 0; i < n; i++)
			m_scope += scope_match(s, accts[i]);
		t_scope += now_s() - t0;
	}
	if (m_scope != m_hand) {
		fprintf(stderr, "bench_scope: scope matched %ld, hand %ld\n", m_scope, m_hand);
		exit(1);
	}
	printf("  %s\n    %d accounts x %d: scope_match %.1f ns/record, by hand %.1f ns/record,"
	       " ratio %.2fx (%ld matches)\n",
	       text, n, rounds, t_scope * 1e9 / ((double)n * rounds),
	       t_hand * 1e9 / ((double)n * rounds), t_scope / t_hand, m_scope / rounds);
	scope_free(s);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 100000;
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 10;
	json_t **accts;
	struct scope *s;
	struct err err = {0};
	double t0;
	int i;

	if (n < 1 || rounds < 1)
		return 2;
	accts = calloc((size_t)n, sizeof *accts);
	if (!accts)
		return 1;
	for (i = 0; i < n; i++)
		accts[i] = account(i);
	run("lifecycle=prospect AND segment IN (smb, mid-market) AND tier<=2 AND NOT do_not_contact",
	    by_hand_1, accts, n, rounds);
	run("(region=EMEA OR region=\"North America\") AND custom.plan=gold AND arr>50000", by_hand_2,
	    accts, n, rounds);
	t0 = now_s();
	for (i = 0; i < 100000; i++) {
		if (scope_parse("lifecycle=prospect AND segment IN (smb, mid-market) AND tier<=2",
				&s, &err))
			return 1;
		scope_free(s);
	}
	printf("  scope_parse: %.2f us per 60-byte scope\n", (now_s() - t0) * 1e6 / 100000);
	for (i = 0; i < n; i++)
		json_decref(accts[i]);
	free(accts);
	return 0;
}
