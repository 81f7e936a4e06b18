/* Private to src/config: the value converters the builders share (validate.c, validate_vrrp.c,
 * validate_bgp.c). Each takes the raw text (NULL = absent, use `def`), reports
 * "PREFIX.KEY: problem" at the value's position through the diagnostic sink, and returns false
 * on error. Pure. */
#ifndef BUOY_CONFIG_CONVERT_H
#define BUOY_CONFIG_CONVERT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/diag.h"

bool cv_uint(struct cfg_diag *d, const char *prefix, const char *key, const char *s, uint64_t lo,
	     uint64_t hi, uint64_t def, uint64_t *out);
bool cv_int(struct cfg_diag *d, const char *prefix, const char *key, const char *s, int64_t lo,
	    int64_t hi, int64_t def, int64_t *out);
bool cv_bool(struct cfg_diag *d, const char *prefix, const char *key, const char *s, bool def, bool *out);
bool cv_duration(struct cfg_diag *d, const char *prefix, const char *key, const char *s,
		 uint64_t lo, uint64_t hi, uint64_t def, uint64_t *out);
/* Copies the string (or `def`, or NULL); `required` reports a missing or empty value. */
bool cv_str(struct cfg_diag *d, const char *prefix, const char *key, const char *s, bool required,
	    const char *def, char **out);
/* A name used in logs, metrics labels and CLI arguments: [A-Za-z0-9_.-], 1..63 chars. */
bool cv_name(struct cfg_diag *d, const char *prefix, const char *key, const char *s, char **out);
/* "IPv4:port", "[IPv6]:port" or ":port"; a missing value is reported as a missing key. */
bool cv_hostport(struct cfg_diag *d, const char *prefix, const char *key, const char *s,
		 struct cfg_addr *out);

/* A wildcard (0.0.0.0 or ::, the port ignored). */
bool cfg_is_wildcard(const struct sockaddr_storage *ss);

/* A list of n raw items at PREFIX.KEY may hold at most `max`; over it reports
 * "at most MAX WHAT" ("servers per backend", "peers", "entries") and returns false. The caps
 * keep the quadratic duplicate checks instant. */
bool cfg_list_ok(struct cfg_diag *d, const char *prefix, const char *key, size_t n, size_t max,
		 const char *what);
/* calloc(n, size) after cfg_list_ok; NULL when n is 0, over the cap or out of memory. Sets
 * *count to n on success (count may be NULL when the caller counts the items it keeps). */
void *cfg_list_new(struct cfg_diag *d, const char *prefix, const char *key, size_t n, size_t max,
		   const char *what, size_t size, size_t *count);

/* Names must be unique within their list: they are how logs, metrics and the CLI refer to them.
 * arr holds n items of `stride` bytes with a char * name at name_off; each repeat is reported
 * at LIST[i].name as "duplicate WHAT name \"x\" (also LIST[j])". */
void cfg_check_unique(struct cfg_diag *d, const char *list, const char *what, const void *arr,
		      size_t n, size_t stride, size_t name_off);

/* The index of the backend named `name`; on a miss reports "PREFIX.KEY: no backend named X"
 * with a "did you mean" for a near miss, else the defined names, and returns c->n_backends. */
size_t cfg_backend_ref(struct cfg_diag *d, const char *prefix, const char *key,
		       const struct config *c, const char *name);

#endif
