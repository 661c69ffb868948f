/* outreach_guard.c — the audience guard: may these recipients be written to,
 * on behalf of this draft, with the book as it is now? */
#include "outreach_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "book.h"
#include "fmt.h"

static int add_finding(json_t *findings, const char *rule, const char *account_id,
		       const char *contact_id, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int add_finding(json_t *findings, const char *rule, const char *account_id,
		       const char *contact_id, const char *address, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *f;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	f = json_pack("{s:s,s:s,s:s?}", "rule", rule, "message", msg, "account_id", account_id);
	if (!f)
		return AIRLOCK_ENOMEM;
	if (contact_id)
		json_object_set_new(f, "contact_id", json_string(contact_id));
	if (address)
		json_object_set_new(f, "address", json_string(address));
	return json_array_append_new(findings, f) ? AIRLOCK_ENOMEM : 0;
}

json_t *outreach_reasons(json_t *findings)
{
	json_t *r = json_array(), *f;
	size_t i;
	char line[640];

	json_array_foreach(findings, i, f)
	{
		(void)snprintf(line, sizeof line, "%s: %s",
			       json_string_value(json_object_get(f, "rule")),
			       json_string_value(json_object_get(f, "message")));
		json_array_append_new(r, json_string(line));
	}
	return r;
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

static int truthy(json_t *v)
{
	return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

/* The domain of an address, or the value itself for a bare domain. */
static const char *domain_of(const char *s)
{
	const char *at = strrchr(s, '@');

	return at ? at + 1 : s;
}

/* The entry of the competitor list that covers domain (itself or a parent
 * domain: "rival.com" covers "mail.rival.com"), or NULL. */
static const char *competitor_domain(const struct outreach_audience_rules *r, const char *domain)
{
	size_t dl, el;
	int i;

	if (!r || !domain || !*domain)
		return NULL;
	dl = strlen(domain);
	for (i = 0; i < r->n; i++) {
		const char *e = r->competitor_domains[i];

		if (!e)
			continue;
		while (*e == '@' || *e == '.')
			e++;
		el = strlen(e);
		if (el == 0 || el > dl)
			continue;
		if (strcasecmp(domain + dl - el, e) == 0 &&
		    (el == dl || domain[dl - el - 1] == '.'))
			return e;
	}
	return NULL;
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

/* A customer gets prospect outreach when the workflow says prospecting, or
 * when the audience would take this very account were it a prospect. The
 * answer comes from the account, never from how the audience is written:
 * "lifecycle=prospect OR segment=smb", "segment=smb", "NOT lifecycle=partner"
 * or a custom field standing in for the lifecycle all take an smb customer
 * as readily as an smb prospect, so they are prospect outreach to it. A
 * customer is written to only under an audience that selects it by its
 * lifecycle (lifecycle=customer AND ...). Out of memory counts as yes. */
static int prospect_outreach(const struct outreach_guard_in *in, json_t *account)
{
	json_t *as_prospect;
	int yes;

	if (contains_ci(in->workflow, "prospect"))
		return 1;
	as_prospect = json_copy(account);
	if (!as_prospect ||
	    json_object_set_new(as_prospect, "lifecycle", json_string("prospect"))) {
		json_decref(as_prospect);
		return 1;
	}
	yes = scope_match(in->audience, as_prospect);
	json_decref(as_prospect);
	return yes;
}

static int guard_account(const struct outreach_audience_rules *rules,
			 const struct outreach_guard_in *in, json_t *a, json_t *findings)
{
	const char *id = in->account_id, *name = str(a, "name"), *life = str(a, "lifecycle");
	const char *comp;
	int rc = 0;

	if (truthy(json_object_get(a, "do_not_contact")))
		rc = add_finding(findings, "do_not_contact", id, NULL, NULL,
				 "account %s (%s) is marked do-not-contact", id, name);
	if (!rc && !strcmp(life, "competitor"))
		rc =
		    add_finding(findings, "competitor", id, NULL, NULL,
				"account %s (%s) is a competitor (lifecycle=competitor)", id, name);
	else if (!rc && (comp = competitor_domain(rules, str(a, "domain"))))
		rc = add_finding(findings, "competitor", id, NULL, NULL,
				 "account %s (%s): its domain %s is on the competitor list (%s)",
				 id, name, str(a, "domain"), comp);
	if (!rc && !strcmp(life, "customer") && prospect_outreach(in, a)) {
		int by_workflow = contains_ci(in->workflow, "prospect");

		rc = add_finding(findings, "customer_prospecting", id, NULL, NULL,
				 "account %s (%s) is a current customer and this draft is prospect "
				 "outreach (%s %s)",
				 id, name, by_workflow ? "workflow" : "audience",
				 by_workflow ? in->workflow : in->audience_text);
	}
	if (!rc && !scope_match(in->audience, a))
		rc = add_finding(
		    findings, "outside_audience", id, NULL, NULL,
		    "account %s (%s; lifecycle=%s, segment=%s, region=%s) is outside the "
		    "draft's audience: %s",
		    id, name, life, str(a, "segment"), str(a, "region"), in->audience_text);
	return rc;
}

/* Messages already going to, or gone to, contact within the window. At draft
 * time queued messages count too; at send time only those that may have
 * reached the relay, so two approved drafts cannot block each other. */
static int touches(struct store *s, const struct outreach_guard_in *in, const char *contact_id,
		   const char *since, int64_t *n, struct err *err)
{
	static const char *const sql_draft =
	    "SELECT (SELECT count(*) FROM touch WHERE contact_id=?1 AND at>=?2)"
	    " + (SELECT count(*) FROM outbox WHERE contact_id=?1 AND updated_at>=?2"
	    "    AND state IN ('intended','sending','unknown') AND draft_id<>?3)";
	static const char *const sql_send =
	    "SELECT (SELECT count(*) FROM touch WHERE contact_id=?1 AND at>=?2)"
	    " + (SELECT count(*) FROM outbox WHERE contact_id=?1 AND updated_at>=?2"
	    "    AND state IN ('sending','unknown') AND draft_id<>?3)";
	struct store_stmt *st;
	int rc;

	*n = 0;
	rc = store_prepare(s, in->send_time ? sql_send : sql_draft, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, contact_id);
	store_bind_text(st, 2, since);
	store_bind_text(st, 3, in->draft_id ? in->draft_id : "");
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*n = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

/* The contact of account_id with this address (ASCII case ignored). When
 * there is none, *elsewhere names another account holding the address. */
static int contact_by_address(struct store *s, const char *account_id, const char *address,
			      json_t **contact, char *elsewhere, size_t len, struct err *err)
{
	struct store_stmt *st;
	char id[256] = "";
	int rc;

	*contact = NULL;
	elsewhere[0] = '\0';
	rc = store_prepare(s,
			   "SELECT id FROM contact WHERE account_id=?1 AND lower(email)=lower(?2)"
			   " ORDER BY id LIMIT 1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, account_id);
	store_bind_text(st, 2, address);
	rc = store_step(st, err);
	if (rc == STORE_ROW &&
	    fmt_buf(id, sizeof id, err, "contact id", "%s", store_col_text(st, 0)))
		rc = AIRLOCK_ECORRUPT;
	store_done(st);
	if (rc < 0)
		return rc;
	if (id[0])
		return book_get(s, BOOK_CONTACT, id, contact, err);
	rc = store_prepare(s, "SELECT account_id FROM contact WHERE email=?1 LIMIT 1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, address);
	rc = store_step(st, err);
	if (rc == STORE_ROW &&
	    fmt_buf(elsewhere, len, err, "account id", "%s", store_col_text(st, 0)))
		rc = AIRLOCK_ECORRUPT;
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Finds the contact a recipient stands for; a not_a_contact finding (and
 * *contact NULL) when it is not one of the account's contacts with a usable
 * address. */
static int resolve(struct store *s, const struct outreach_guard_in *in, const char *ref,
		   const char *stored, json_t **contact, json_t *findings, struct err *err)
{
	const char *acc = in->account_id, *email;
	char elsewhere[256];
	json_t *c = NULL;
	int rc;

	*contact = NULL;
	if (!stored && strchr(ref, '@')) {
		rc = contact_by_address(s, acc, ref, &c, elsewhere, sizeof elsewhere, err);
		if (rc)
			return rc;
		if (!c && elsewhere[0])
			return add_finding(
			    findings, "not_a_contact", acc, NULL, ref,
			    "%s belongs to a contact of account %s, not of account %s", ref,
			    elsewhere, acc);
		if (!c)
			return add_finding(findings, "not_a_contact", acc, NULL, ref,
					   "%s is not the address of any contact of account %s",
					   ref, acc);
	} else {
		rc = book_get(s, BOOK_CONTACT, ref, &c, err);
		if (rc == AIRLOCK_ENOTFOUND) {
			err_clear(err);
			return add_finding(findings, "not_a_contact", acc, ref, stored,
					   "there is no contact '%s'%s", ref,
					   stored ? " any more" : "");
		}
		if (rc)
			return rc;
	}
	if (strcmp(str(c, "account_id"), acc) != 0) {
		rc = add_finding(findings, "not_a_contact", acc, str(c, "id"), stored,
				 "contact %s belongs to account %s, not to account %s",
				 str(c, "id"), str(c, "account_id"), acc);
		json_decref(c);
		return rc;
	}
	email = str(c, "email");
	if (!*email || !smtp_address_valid(email)) {
		if (*email)
			rc = add_finding(findings, "not_a_contact", acc, str(c, "id"), NULL,
					 "contact %s's address '%s' is not a valid e-mail address",
					 str(c, "id"), email);
		else
			rc = add_finding(findings, "not_a_contact", acc, str(c, "id"), NULL,
					 "contact %s has no e-mail address", str(c, "id"));
		json_decref(c);
		return rc;
	}
	if (stored && strcasecmp(stored, email) != 0) {
		rc = add_finding(
		    findings, "not_a_contact", acc, str(c, "id"), stored,
		    "contact %s's address changed from %s to %s since the draft was made",
		    str(c, "id"), stored, email);
		json_decref(c);
		return rc;
	}
	*contact = c;
	return 0;
}

static int guard_contact(struct store *s, const struct outreach_audience_rules *rules,
			 const struct outreach_guard_in *in, json_t *c, const char *since,
			 int listed_before, json_t *findings, struct err *err)
{
	const char *acc = in->account_id, *id = str(c, "id"), *email = str(c, "email"), *comp;
	int64_t n = 0;
	int rc = 0;

	if (truthy(json_object_get(c, "do_not_contact")))
		rc = add_finding(findings, "do_not_contact", acc, id, email,
				 "contact %s (%s) is marked do-not-contact", id, email);
	if (!rc && truthy(json_object_get(c, "unsubscribed")))
		rc = add_finding(findings, "unsubscribed", acc, id, email,
				 "contact %s (%s) has unsubscribed", id, email);
	if (!rc && (comp = competitor_domain(rules, domain_of(email))))
		rc = add_finding(findings, "competitor", acc, id, email,
				 "%s is at a competitor's domain (%s)", email, comp);
	if (rc)
		return rc;
	if (listed_before)
		return add_finding(findings, "touch_window", acc, id, email,
				   "contact %s (%s) is listed more than once in this draft", id,
				   email);
	if (!rules || rules->touch_window_days <= 0 || rules->max_touches <= 0)
		return 0;
	rc = touches(s, in, id, since, &n, err);
	if (rc)
		return rc;
	if (n + 1 > rules->max_touches)
		return add_finding(
		    findings, "touch_window", acc, id, email,
		    "contact %s (%s) already has %lld message%s in the last %lld days"
		    " (at most %lld)",
		    id, email, (long long)n, n == 1 ? "" : "s", (long long)rules->touch_window_days,
		    (long long)rules->max_touches);
	return 0;
}

int outreach_guard_run(struct store *s, const struct outreach_audience_rules *rules,
		       const struct outreach_guard_in *in, const char *const *refs,
		       const char *const *addrs, int n, json_t *findings, json_t *resolved,
		       struct err *err)
{
	json_t *account = NULL, *seen = json_object(), *c = NULL;
	char since[32];
	int64_t days;
	int i, rc;

	if (!seen)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	days = rules && rules->touch_window_days > 0 ? rules->touch_window_days : 0;
	if (days > 36500)
		days = 36500;
	outreach_time(time(NULL) - (time_t)(days * 86400), since, sizeof since);
	rc = book_get(s, BOOK_ACCOUNT, in->account_id, &account, err);
	if (rc == AIRLOCK_ENOTFOUND && in->draft_id) {
		err_clear(err);
		rc = add_finding(findings, "not_a_contact", in->account_id, NULL, NULL,
				 "account %s no longer exists", in->account_id);
		goto out;
	}
	if (rc == AIRLOCK_ENOTFOUND) {
		rc = err_set(err, AIRLOCK_EINVAL, "account_id: there is no account '%s'",
			     in->account_id);
		goto out;
	}
	if (rc)
		goto out;
	rc = guard_account(rules, in, account, findings);
	for (i = 0; i < n && rc == 0; i++) {
		rc = resolve(s, in, refs[i], addrs ? addrs[i] : NULL, &c, findings, err);
		if (rc || !c)
			continue;
		rc = guard_contact(s, rules, in, c, since,
				   json_object_get(seen, str(c, "id")) != NULL, findings, err);
		if (rc == 0)
			json_object_set_new(seen, str(c, "id"), json_true());
		if (rc == 0 && resolved &&
		    json_array_append_new(resolved,
					  json_pack("{s:s,s:s,s:s?}", "contact_id", str(c, "id"),
						    "address", str(c, "email"), "name",
						    json_string_value(json_object_get(c, "name")))))
			rc = AIRLOCK_ENOMEM;
		json_decref(c);
		c = NULL;
	}
	if (rc == AIRLOCK_ENOMEM)
		err_set(err, AIRLOCK_ENOMEM, "out of memory");
out:
	json_decref(account);
	json_decref(seen);
	return rc;
}

int outreach_guard_loaded(struct store *s, const struct outreach_audience_rules *rules,
			  const struct outreach_draft_row *d, int send_time, const char *contact_id,
			  const char *address, json_t *findings, struct err *err)
{
	struct outreach_guard_in in = {0};
	struct scope *aud = NULL;
	struct err perr = {0};
	const char **refs = NULL, **addrs = NULL;
	size_t i, n = json_array_size(d->recipients);
	json_t *r;
	int k = 0, rc;

	rc = scope_parse(d->audience, &aud, &perr);
	if (rc == AIRLOCK_ENOMEM)
		return err_set(err, rc, "out of memory");
	if (rc)
		return add_finding(findings, "outside_audience", d->account_id, NULL, NULL,
				   "the draft's audience no longer reads as a scope: %s", perr.msg)
			   ? err_set(err, AIRLOCK_ENOMEM, "out of memory")
			   : 0;
	refs = calloc(n + 1, sizeof *refs);
	addrs = calloc(n + 1, sizeof *addrs);
	if (!refs || !addrs) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	if (contact_id) {
		refs[k] = contact_id;
		addrs[k] = address ? address : "";
		k++;
	} else {
		json_array_foreach(d->recipients, i, r)
		{
			refs[k] = str(r, "contact_id");
			addrs[k] = str(r, "address");
			k++;
		}
	}
	in.draft_id = d->id;
	in.account_id = d->account_id;
	in.audience = aud;
	in.audience_text = d->audience;
	in.workflow = d->workflow;
	in.send_time = send_time;
	rc = outreach_guard_run(s, rules, &in, refs, addrs, k, findings, NULL, err);
out:
	free(refs);
	free(addrs);
	scope_free(aud);
	return rc;
}
