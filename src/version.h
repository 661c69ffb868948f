/* version.h — airlock's version: the newest entry of the README's changelog
 * (tests/e2e/readme.sh checks that they agree). */
#ifndef AIRLOCK_VERSION_H
#define AIRLOCK_VERSION_H

#define AIRLOCK_VERSION "0.4.4"

#endif
