/* Interception: the listeners' `intercept:` addresses redirected to them by nftables (see
 * nftrules.h for the ruleset). One object for the daemon's life: it holds the libnftables
 * context, whose netlink socket owns the table (closing it deletes the table).
 *
 * Errors: intercept_apply() returns -1 and keeps whatever was installed before (the
 * transaction is atomic), with a message naming the listener the kernel refused when it can
 * tell (each listener's rules are tried alone). */
#ifndef BUOY_INTERCEPT_INTERCEPT_H
#define BUOY_INTERCEPT_INTERCEPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct intercept;

/* NULL only on allocation failure (libnftables context). */
struct intercept *intercept_new(void);
/* Installs c's interceptions (or removes the table when c has none). 0 or -1 (err filled). */
int intercept_apply(struct intercept *ic, const struct config *c, char *err, size_t len);
/* Removes the table (shutdown: the node's clients reach VIP:port directly again). */
void intercept_remove(struct intercept *ic);
/* Removes the table and frees. */
void intercept_free(struct intercept *ic);

/* ---- status ---- */
struct intercept_item_status {
	const char *listener;
	char address[64]; /* "198.18.0.100:6443" */
	uint16_t to_port; /* the listener's port */
	bool installed;
};
struct intercept_status {
	bool owner;      /* the table has `flags owner` */
	char error[256]; /* the last failure, "" when the last apply worked */
	uint64_t applies_total, failures_total;
	size_t n_items;
};
void intercept_get_status(const struct intercept *ic, struct intercept_status *out);
/* Item i of the config last applied (or attempted); 0, or -1 out of range. */
int intercept_get_item(const struct intercept *ic, size_t i, struct intercept_item_status *out);

#endif
