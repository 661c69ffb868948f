/* fuzz_common.h — what the fuzz harnesses share: a scratch folder per
 * harness, writing an input to a file there, and stopping loudly when an
 * oracle breaks (abort, so libFuzzer keeps the input as a crasher and the
 * replay test, tests/test_fuzz.c, fails on it). */
#ifndef AIRLOCK_FUZZ_COMMON_H
#define AIRLOCK_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((unused, noreturn)) static void fuzz_die(const char *harness, const char *what,
							const char *detail)
{
	fprintf(stderr, "fuzz_%s: %s: %s\n", harness, what, detail ? detail : "");
	abort();
}

/* Where scratch files go: /dev/shm (memory) when there is one, so a run
 * spends nothing on disk writes and fsync; else /tmp. */
__attribute__((unused)) static const char *fuzz_scratch(void)
{
	return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* Makes a fresh folder SCRATCH/airlock-fuzz-NAME-XXXXXX into dir. */
__attribute__((unused)) static void fuzz_tmpdir(const char *harness, char *dir, size_t len)
{
	if ((size_t)snprintf(dir, len, "%s/airlock-fuzz-%s-XXXXXX", fuzz_scratch(), harness) >=
		len ||
	    !mkdtemp(dir))
		fuzz_die(harness, "mkdtemp", dir);
}

__attribute__((unused)) static void fuzz_rmdir(const char *dir)
{
	char cmd[512];

	if ((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) < sizeof cmd && system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

/* Writes data to path (replacing it). */
__attribute__((unused)) static void fuzz_write_file(const char *harness, const char *path,
						    const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		fuzz_die(harness, "cannot write", path);
}

/* Reads a whole file (NUL-terminated copy); NULL when it cannot. */
__attribute__((unused)) static char *fuzz_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

#endif
