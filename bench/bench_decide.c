/* bench_decide.c — how long policy_decide() takes, per call: the gate runs
 * it on every proposal, and the contract is a median under 5 µs.
 *
 * The default policy is written to a temporary file and loaded; then rounds
 * of calls cycle through inputs that reach every branch (staged, blocked by
 * size, by the running total, by the pending cap, irreversible, draft,
 * read). The baseline is the same loop calling an empty function through the
 * same kind of pointer, in the same run, so the ratio says what decide costs
 * over a bare call. Prints the median over the rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"

#define ROUNDS 31
#define CALLS 200000

typedef void (*decide_fn)(const struct policy *, const struct decision_input *, struct decision *);

__attribute__((noinline)) static void
empty_decide(const struct policy *p, const struct decision_input *in, struct decision *out)
{
	(void)p;
	(void)in;
	out->kind = DECISION_BLOCKED;
	__asm__ volatile("" ::: "memory");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per call of fn over the inputs, cycled. */
static double median_ns(decide_fn volatile fn, const struct policy *p,
			const struct decision_input *in, int nin, int *sink)
{
	double t[ROUNDS], t0;
	struct decision d;
	int r, i;

	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		for (i = 0; i < CALLS; i++) {
			fn(p, &in[i % nin], &d);
			*sink += (int)d.kind;
		}
		t[r] = (now_ns() - t0) / CALLS;
	}
	qsort(t, ROUNDS, sizeof t[0], cmp_double);
	return t[ROUNDS / 2];
}

int main(void)
{
	char path[] = "/tmp/airlock-bench-decide-XXXXXX";
	const char *text = policy_default_yaml();
	struct decision_input in[8];
	struct policy *p = NULL;
	struct err err = {0};
	double base, dec;
	int fd, sink = 0, rc = 1;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0) {
		fprintf(stderr, "bench_decide: cannot write %s\n", path);
		return 1;
	}
	if (policy_load(path, &p, &err)) {
		fprintf(stderr, "bench_decide: %s\n", err.msg);
		goto out;
	}
	in[0] = (struct decision_input){policy_workflow(p, "retier"), 40, 120, 2}; /* staged */
	in[1] = (struct decision_input){policy_workflow(p, "retier"), 40, 240, 2}; /* cumulative */
	in[2] = (struct decision_input){policy_workflow(p, "field_update"), 500, 500, 0}; /* size */
	in[3] = (struct decision_input){policy_workflow(p, "merge"), 2, 2, 0};	  /* irreversible */
	in[4] = (struct decision_input){policy_workflow(p, "send"), 1, 1, 0};	  /* send */
	in[5] = (struct decision_input){policy_workflow(p, "retier"), 1, 1, 20};  /* pending */
	in[6] = (struct decision_input){policy_workflow(p, "outreach"), 0, 0, 0}; /* draft */
	in[7] = (struct decision_input){policy_workflow(p, "read"), 0, 0, 0};	  /* read */
	base = median_ns(empty_decide, p, in, 8, &sink);
	dec = median_ns(policy_decide, p, in, 8, &sink);
	printf("policy_decide: median %.1f ns per call (%d rounds of %d calls, 8 inputs: every "
	       "branch)\n",
	       dec, ROUNDS, CALLS);
	printf("baseline (empty function, same loop): %.1f ns per call; decide/baseline = %.0fx\n",
	       base, dec / base);
	printf("contract: median under 5000 ns: %s (%.0fx margin)\n",
	       dec < 5000 ? "met" : "NOT MET", 5000 / dec);
	rc = dec < 5000 ? 0 : 1;
	if (sink == -1) /* keeps the loop's results alive */
		puts("");
out:
	policy_free(p);
	unlink(path);
	return rc;
}
