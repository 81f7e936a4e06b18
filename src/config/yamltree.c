/* The YAML tree (libyaml's document API, built on its event parser) used for two things
 * libcyaml cannot do: report EVERY structural problem with the exact line:col of the key or
 * value, and find the position of any value by its path for semantic errors. */
#include "config/config_internal.h"

#include <cyaml/cyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cfg_pos node_pos(const yaml_node_t *n)
{
	return (struct cfg_pos){ (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1 };
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

bool ydoc_is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

const char *ydoc_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default:
		if (!ydoc_is_null(n))
			return "a single value";
		return n->data.scalar.length ? "null" : "an empty value";
	}
}

static void unknown_key(struct cfg_diag *d, const yaml_node_t *key, const char *path,
			const cyaml_schema_field_t *fields)
{
	const char *k = scalar(key);
	const char *guess = NULL;
	size_t best = 3;
	for (const cyaml_schema_field_t *f = fields; f->key; f++) {
		size_t dist = cfg_edit_distance(k, f->key);
		if (dist < best) {
			best = dist;
			guess = f->key;
		}
	}
	struct cfg_pos p = node_pos(key);
	char hint[64] = "";
	if (guess)
		snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", guess);
	if (*path)
		cfg_diag_add(d, p.line, p.col, "unknown key \"%s\" in %s%s", k, path, hint);
	else
		cfg_diag_add(d, p.line, p.col, "unknown key \"%s\"%s", k, hint);
}

/* Aliases make the tree a DAG: a hostile file can make a walk exponential ("billion laughs").
 * The walk gives up after this many nodes; real configs have a few hundred. */
#define WALK_BUDGET 200000

struct walk {
	yaml_document_t *doc;
	struct cfg_diag *d;
	size_t visited;
};

static size_t check_value(struct walk *w, yaml_node_t *n, const cyaml_schema_value_t *s, const char *path);

static size_t check_mapping(struct walk *w, yaml_node_t *n, const cyaml_schema_value_t *s, const char *path)
{
	yaml_document_t *doc = w->doc;
	struct cfg_diag *d = w->d;
	size_t errs = 0;
	if (n->data.mapping.pairs.top - n->data.mapping.pairs.start > 1000) {
		struct cfg_pos mp = node_pos(n);
		cfg_diag_add(d, mp.line, mp.col, "%s: too many keys", *path ? path : "document");
		return 1; /* the duplicate-key scan below is quadratic */
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *key = yaml_document_get_node(doc, p->key);
		yaml_node_t *val = yaml_document_get_node(doc, p->value);
		struct cfg_pos kp = node_pos(key);
		const char *k = scalar(key);
		if (!k) {
			cfg_diag_add(d, kp.line, kp.col, "%s%skeys must be plain words, not %s",
				     path, *path ? ": " : "", ydoc_kind(key));
			errs++;
			continue;
		}
		bool dup = false;
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p && !dup; q++) {
			const char *qk = scalar(yaml_document_get_node(doc, q->key));
			dup = qk && strcmp(qk, k) == 0;
		}
		if (dup) {
			cfg_diag_add(d, kp.line, kp.col, "duplicate key \"%s\"%s%s", k,
				     *path ? " in " : "", path);
			errs++;
			continue;
		}
		const cyaml_schema_field_t *f = s->mapping.fields;
		while (f->key && strcmp(f->key, k) != 0)
			f++;
		if (!f->key) {
			unknown_key(d, key, path, s->mapping.fields);
			errs++;
			continue;
		}
		char sub[256];
		cfg_path_join(sub, sizeof(sub), path, k);
		errs += check_value(w, val, &f->value, sub);
	}
	return errs;
}

static size_t check_value(struct walk *w, yaml_node_t *n, const cyaml_schema_value_t *s, const char *path)
{
	struct cfg_diag *d = w->d;
	struct cfg_pos p = node_pos(n);
	if (++w->visited == WALK_BUDGET) {
		cfg_diag_add(d, p.line, p.col,
			     "document too large (aliases expand to over %d nodes)", WALK_BUDGET);
		return 1;
	}
	if (w->visited > WALK_BUDGET)
		return 1;
	const char *want;
	yaml_node_type_t type;
	switch (s->type) {
	case CYAML_IGNORE: return 0; /* polymorphic values: checked by their own extractor */
	case CYAML_MAPPING:
		want = "a mapping";
		type = YAML_MAPPING_NODE;
		break;
	case CYAML_SEQUENCE:
		want = "a list";
		type = YAML_SEQUENCE_NODE;
		break;
	default:
		want = "a single value";
		type = YAML_SCALAR_NODE;
		break;
	}
	if (n->type != type) {
		/* "vrrp:" with everything commented out is an empty section, not a mistake.
		 * libcyaml 1.3.1 takes only the empty form as null, not "~" or "null". */
		bool empty = ydoc_is_null(n) && n->data.scalar.length == 0;
		if ((s->flags & CYAML_FLAG_POINTER_NULL) == CYAML_FLAG_POINTER_NULL && empty)
			return 0;
		cfg_diag_add(
			d, p.line, p.col, "%s: expected %s, got %s%s", *path ? path : "document",
			want, ydoc_kind(n),
			ydoc_is_null(n) && !empty ? " (leave the value empty or remove the key)" : "");
		return 1;
	}
	if (type == YAML_MAPPING_NODE)
		return check_mapping(w, n, s, path);
	size_t errs = 0;
	if (type == YAML_SEQUENCE_NODE) {
		size_t i = 0;
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++, i++) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			errs += check_value(
				w, yaml_document_get_node(w->doc, *it), s->sequence.entry, sub);
		}
	}
	return errs;
}

size_t ydoc_check(yaml_document_t *doc, const struct cyaml_schema_value *schema, struct cfg_diag *d)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	struct walk w = { doc, d, 0 };
	return root ? check_value(&w, root, schema, "") : 0;
}

/* Walks "a.b[2].c"; stops at the deepest node that exists unless `exact`. */
yaml_node_t *ydoc_find(yaml_document_t *doc, const char *path, bool exact)
{
	yaml_node_t *n = yaml_document_get_root_node(doc);
	const char *p = path;
	while (n && *p) {
		yaml_node_t *next = NULL;
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			char *end;
			unsigned long idx = strtoul(p + 1, &end, 10);
			if (*end != ']')
				break;
			p = end + 1;
			if (n->type == YAML_SEQUENCE_NODE &&
			    idx < (unsigned long)(n->data.sequence.items.top -
						  n->data.sequence.items.start))
				next = yaml_document_get_node(doc, n->data.sequence.items.start[idx]);
		} else {
			size_t len = strcspn(p, ".[");
			if (n->type == YAML_MAPPING_NODE) {
				for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
				     pr < n->data.mapping.pairs.top && !next; pr++) {
					const char *k = scalar(yaml_document_get_node(doc, pr->key));
					if (k && strlen(k) == len && !strncmp(k, p, len))
						next = yaml_document_get_node(doc, pr->value);
				}
			}
			p += len;
		}
		if (!next)
			return exact ? NULL : n;
		n = next;
	}
	return (*p && exact) ? NULL : n;
}

bool ydoc_locate(void *doc, const char *path, struct cfg_pos *out)
{
	yaml_node_t *n = ydoc_find(doc, path, false);
	if (!n)
		return false;
	*out = node_pos(n);
	return true;
}

/* Size of the tree with every alias expanded, memoised so a "billion laughs" file costs
 * O(nodes) here instead of exponential time in libcyaml (which replays aliases). */
static size_t expanded(yaml_document_t *doc, int id, size_t *memo, unsigned depth, size_t limit)
{
	if (depth > YDOC_MAX_DEPTH)
		return limit + 1;
	if (memo[id - 1])
		return memo[id - 1];
	yaml_node_t *n = yaml_document_get_node(doc, id);
	size_t total = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top && total <= limit; it++)
			total += expanded(doc, *it, memo, depth + 1, limit);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top && total <= limit; p++) {
			total += expanded(doc, p->key, memo, depth + 1, limit);
			if (total <= limit)
				total += expanded(doc, p->value, memo, depth + 1, limit);
		}
	}
	if (total > limit)
		total = limit + 1; /* saturate: the caller only asks "more than limit?" */
	memo[id - 1] = total;
	return total;
}

bool ydoc_too_big(yaml_document_t *doc, size_t limit)
{
	size_t nodes = (size_t)(doc->nodes.top - doc->nodes.start);
	if (!nodes)
		return false;
	size_t *memo = calloc(nodes, sizeof(*memo));
	if (!memo)
		return true;
	bool big = expanded(doc, 1, memo, 0, limit) > limit;
	free(memo);
	return big;
}

/* libyaml's scanner slows down quadratically with flow nesting ("[[[[...]]]]": 200 KB takes
 * minutes), so count flow brackets before handing it the text. Quoted strings and comments are
 * skipped; the count is approximate but only a hostile file comes near the limit. */
bool ydoc_flow_depth_ok(const char *s, size_t len, unsigned max_depth, struct cfg_pos *where)
{
	unsigned depth = 0, line = 1, col = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		col++;
		if (c == '\n') {
			line++;
			col = 0;
		} else if (c == '#' &&
			   (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\n')) {
			while (i + 1 < len && s[i + 1] != '\n')
				i++;
		} else if (c == '"' || c == '\'') {
			for (i++; i < len && s[i] != c; i++) {
				if (c == '"' && s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] == '\n') {
					line++;
					col = 0;
				}
			}
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth) {
				*where = (struct cfg_pos){ line, col };
				return false;
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return true;
}
