/* cmd_show.h — how `show` prints a batch's items and summary, shared with
 * `sample` so a drawn item reads the same in both. Batch and item objects
 * are staging_get's (borrowed); the caller has escaped them (cli_escape). */
#ifndef AIRLOCK_CMD_SHOW_H
#define AIRLOCK_CMD_SHOW_H

#include <jansson.h>
#include <stdint.h>

#include "cli.h"
#include "store.h"

struct paint {
	const char *old, *new, *head, *dim, *bad, *off;
};

/* Colours when stdout is a terminal, none otherwise. Static storage. */
const struct paint *show_paint(void);
/* 1 when the batch's recorded sample drew item idx (1-based). */
int show_item_drawn(json_t *b, int64_t idx);
/* One item: "#N", ★drawn when sampled, name, field old → new, reason,
 * evidence text, verdict. */
void show_item(struct store *s, json_t *b, json_t *it, const struct paint *p);
/* The batch summary (summary.h) as plain lines. */
void show_summary(struct cli *cli, struct store *s, json_t *b, const struct paint *p);

#endif
