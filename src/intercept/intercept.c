#include "intercept/intercept.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/strbuf.h"
#include "intercept/nftrules.h"

struct item {
	char listener[64];
	char address[64];
	uint16_t to_port;
	bool installed;
};

struct intercept {
	struct nft_ctx *nft;
	bool owner;         /* try `flags owner` (cleared when the kernel lacks it) */
	bool table;         /* we created the table and did not remove it */
	struct item *items; /* of the config last applied or attempted */
	size_t n_items;
	char error[256];
	uint64_t applies_total, failures_total;
};

struct intercept *intercept_new(void)
{
	struct intercept *ic = calloc(1, sizeof(*ic));
	if (!ic)
		return NULL;
	ic->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ic->nft) {
		free(ic);
		return NULL;
	}
	nft_ctx_buffer_output(ic->nft);
	nft_ctx_buffer_error(ic->nft);
	ic->owner = true;
	return ic;
}

/* The first line of libnftables' error text ("Error: ..."; the rest is the echoed input
 * with carets). */
static void first_error_line(struct intercept *ic, char *buf, size_t len)
{
	const char *e = nft_ctx_get_error_buffer(ic->nft);
	if (!e || !*e) {
		snprintf(buf, len, "refused by nftables");
		return;
	}
	if (!strncmp(e, "Error: ", 7))
		e += 7;
	size_t n = strcspn(e, "\n");
	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), e);
}

static int run(struct intercept *ic, const char *text, bool dry)
{
	nft_ctx_set_dry_run(ic->nft, dry);
	int rc = nft_run_cmd_from_buffer(ic->nft, text);
	nft_ctx_set_dry_run(ic->nft, false);
	return rc;
}

static int try_replace(struct intercept *ic, const struct config *c)
{
	struct strbuf t = { 0 };
	int rc = nftrules_render(c, ic->owner, -1, &t) == 0 ? run(ic, sb_str(&t), false) : -1;
	sb_free(&t);
	return rc;
}

/* Owned replace. On the first install only (a table of ours is never deleted to retry: a
 * refused reload keeps the old rules): a leftover unowned table named ours (an older buoy, a
 * crash without owner support) is deleted and the owned table created; then, for a kernel
 * without `flags owner` (< 5.12), a plain table. */
static int replace(struct intercept *ic, const struct config *c, char *why, size_t len)
{
	if (try_replace(ic, c) == 0)
		return 0;
	first_error_line(ic, why, len);
	if (ic->table)
		return -1;
	run(ic, "delete table " NFTRULES_FAMILY " " NFTRULES_TABLE "\n", false);
	if (try_replace(ic, c) == 0)
		return 0;
	if (!ic->owner)
		return -1;
	ic->owner = false;
	if (try_replace(ic, c) == 0) {
		log_warn("intercept table not owned",
			 "reason=\"kernel refused flags owner\" "
			 "effect=\"a crashed buoy leaves its redirects until it restarts\"");
		return 0;
	}
	ic->owner = true;
	return -1;
}

/* Which listener the kernel refuses: each one's rules alone, dry run. */
static const char *culprit(struct intercept *ic, const struct config *c)
{
	struct strbuf t = { 0 };
	const char *name = NULL;
	for (size_t i = 0; i < c->n_listeners && !name; i++) {
		if (!c->listeners[i].n_intercept)
			continue;
		sb_reset(&t);
		if (nftrules_render(c, false, (long)i, &t) == 0 && run(ic, sb_str(&t), true) != 0)
			name = c->listeners[i].name;
	}
	sb_free(&t);
	return name;
}

static void set_items(struct intercept *ic, const struct config *c, bool ok)
{
	size_t n = nftrules_count(c);
	struct item *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return; /* status keeps the old list */
	size_t k = 0;
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct cfg_listener *l = &c->listeners[i];
		for (size_t j = 0; j < l->n_intercept; j++, k++) {
			snprintf(v[k].listener, sizeof(v[k].listener), "%s", l->name ? l->name : "");
			snprintf(v[k].address, sizeof(v[k].address), "%s", l->intercept[j].text);
			v[k].to_port = cfg_port(&l->bind.ss);
			v[k].installed = ok;
			/* refused: what the old table still does */
			for (size_t o = 0; !ok && o < ic->n_items; o++)
				if (ic->items[o].installed && ic->items[o].to_port == v[k].to_port &&
				    !strcmp(ic->items[o].address, v[k].address))
					v[k].installed = true;
		}
	}
	free(ic->items);
	ic->items = v;
	ic->n_items = n;
}

int intercept_apply(struct intercept *ic, const struct config *c, char *err, size_t len)
{
	char why[200] = "";
	ic->applies_total++;
	if (!nftrules_count(c) && !ic->table) {
		set_items(ic, c, true);
		ic->error[0] = '\0';
		return 0; /* nothing asked, nothing of ours there: touch nothing */
	}
	if (replace(ic, c, why, sizeof(why)) == 0) {
		ic->table = nftrules_count(c) > 0;
		set_items(ic, c, true);
		ic->error[0] = '\0';
		if (ic->table)
			log_info("intercept installed",
				 "table=\"" NFTRULES_FAMILY " " NFTRULES_TABLE "\" rules=%zu owner=%s",
				 nftrules_count(c), ic->owner ? "true" : "false");
		else
			log_info("intercept removed",
				 "table=\"" NFTRULES_FAMILY " " NFTRULES_TABLE "\"");
		return 0;
	}
	ic->failures_total++;
	const char *who = culprit(ic, c);
	snprintf(ic->error, sizeof(ic->error), "%s%s%s", who ? "listener " : "", who ? who : "",
		 who ? ": " : "");
	snprintf(ic->error + strlen(ic->error), sizeof(ic->error) - strlen(ic->error),
		 "nftables refused the redirect: %s", why);
	set_items(ic, c, false);
	log_error("intercept failed", "listener=%s err=\"%s\"", who ? who : "-", why);
	snprintf(err, len, "%s", ic->error);
	return -1;
}

void intercept_remove(struct intercept *ic)
{
	if (!ic || !ic->table)
		return;
	struct strbuf t = { 0 };
	if (nftrules_render_remove(ic->owner, &t) == 0 && run(ic, sb_str(&t), false) == 0) {
		ic->table = false;
		for (size_t i = 0; i < ic->n_items; i++)
			ic->items[i].installed = false;
		log_info("intercept removed", "table=\"" NFTRULES_FAMILY " " NFTRULES_TABLE "\"");
	} else {
		char why[200];
		first_error_line(ic, why, sizeof(why));
		log_warn("intercept not removed", "err=\"%s\"", why);
	}
	sb_free(&t);
}

void intercept_free(struct intercept *ic)
{
	if (!ic)
		return;
	intercept_remove(ic);
	nft_ctx_free(ic->nft); /* closes the socket: an owned table would go with it anyway */
	free(ic->items);
	free(ic);
}

void intercept_get_status(const struct intercept *ic, struct intercept_status *out)
{
	*out = (struct intercept_status){
		.owner = ic->owner && ic->table,
		.applies_total = ic->applies_total,
		.failures_total = ic->failures_total,
		.n_items = ic->n_items,
	};
	snprintf(out->error, sizeof(out->error), "%s", ic->error);
}

int intercept_get_item(const struct intercept *ic, size_t i, struct intercept_item_status *out)
{
	if (i >= ic->n_items)
		return -1;
	const struct item *it = &ic->items[i];
	*out = (struct intercept_item_status){
		.listener = it->listener, .to_port = it->to_port, .installed = it->installed
	};
	snprintf(out->address, sizeof(out->address), "%s", it->address);
	return 0;
}
