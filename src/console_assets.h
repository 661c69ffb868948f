/* console_assets.h — the console's files, embedded in the binary.
 *
 * The table is generated at build time (scripts/gen_console_assets.py
 * writes build/MODE/gen/console_assets.c from the files under console/):
 * each file's bytes, content type and a strong ETag (a hash of the bytes).
 * Static storage; nothing to free. */
#ifndef AIRLOCK_CONSOLE_ASSETS_H
#define AIRLOCK_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *path;	  /* "/app.js" */
	const char *content_type; /* "text/javascript; charset=utf-8" */
	const unsigned char *data;
	size_t len;
	const char *etag; /* "\"sha256-…\"" with its quotes */
	const char *version; /* the same digest bare: the pages ask for /app.js?v=… */
};

extern const struct console_asset console_assets[];
extern const int console_asset_count;

#endif
