/*
 * config: the CA home and its two JSON files.
 *
 * ca.json (server side) and defaults.json (client side).  Relative paths
 * in ca.json are relative to the home, so a home can be moved whole.
 */
#ifndef INCA_CONFIG_H
#define INCA_CONFIG_H

#include <jansson.h>

/*
 * The home: dir if non-NULL, else $CA_DIR, else $HOME/.inca.  malloc'd;
 * NULL only when none can be found (message recorded).
 */
char *config_home(const char *dir);

/* Parse a JSON object file (duplicates refused), at most CA_MAX_CONFIG bytes. */
int config_read_json(const char *path, json_t **out);
/* Write a JSON object atomically with mode; pretty-printed, final newline. */
int config_write_json(const char *path, const json_t *j, int mode);

/*
 * The CA of home dir (see config_home): *home (malloc'd) and its
 * config/ca.json (*conf, json_decref), which must hold an "authority"
 * object.  CA_FAIL "no CA here" when there is no ca.json; every other
 * problem with it is CA_FAIL too (a configuration failure).  The one
 * loader every program that reads a CA home uses.
 */
int config_ca(const char *dir, char **home, json_t **conf);

/* Resolve p against home unless absolute; malloc'd. */
char *config_resolve(const char *home, const char *p);

/*
 * defaults.json of home: *out is the object (json_decref); missing file
 * is CA_USAGE "no defaults.json in HOME: run ca-init or pass --root".
 */
int config_defaults(const char *home, json_t **out);

#endif
