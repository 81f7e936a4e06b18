/* The statement tree of keepalived.conf and nginx.conf: words, { blocks }, includes.
 * keepalived is line-oriented (a statement per line, `{` may start the next line) and expands
 * `$VAR=value` definitions, `$VAR`/`${VAR}` uses and `@id`/`@^id` conditional lines before it
 * splits words; nginx ends statements with `;` and quotes with ' or " and \ escapes. */
#include <glob.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "import/import.h"

#define TREE_MAX_DEPTH 32
#define TREE_MAX_INCLUDE 8

struct builder {
	struct imp_model *m;
	enum imp_syntax syn;
	struct imp_stmt root_holder;
	struct imp_stmt *stack[TREE_MAX_DEPTH]; /* open blocks; [0] the root */
	size_t depth;
	size_t overflow; /* blocks opened beyond TREE_MAX_DEPTH, read but dropped */
	char **words;
	size_t n_words;
	const char *file;
	int line, stmt_line; /* stmt_line: where the statement's first word is */
	char **var_names, **var_values;
	size_t n_vars, n_values;
	int includes;
	bool warned_node;
};

static void feed(struct builder *b, const char *file, const char *text, size_t len);
static void word(struct builder *b, const char *s, size_t n);

static struct imp_stmt *top(struct builder *b) { return b->stack[b->depth]; }

static void include(struct builder *b, const struct imp_stmt *s)
{
	struct imp_model *m = b->m;
	if (!m->read_file) {
		imp_warn(m, s->file, s->line, "include %s not followed (no file access)", s->argv[1]);
		return;
	}
	if (b->includes >= TREE_MAX_INCLUDE) {
		imp_fatal(m, s->file, s->line, "includes nested deeper than %d", TREE_MAX_INCLUDE);
		return;
	}
	const char *pat = s->argv[1];
	if (pat[0] != '/') {
		char *dir = imp_strdup(m, s->file);
		pat = imp_printf(m, "%s/%s", dirname(dir), pat);
	}
	glob_t g;
	int rc = glob(pat, 0, NULL, &g);
	if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0))
		imp_warn(m, s->file, s->line, "include %s matches no file", pat);
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
		size_t len;
		char *text = m->read_file(g.gl_pathv[i], &len);
		if (!text) {
			imp_fatal(m, s->file, s->line, "include %s: cannot read", g.gl_pathv[i]);
			continue;
		}
		char *kept = imp_strdup(m, g.gl_pathv[i]);
		b->includes++;
		feed(b, kept, text, len);
		b->includes--;
		free(text);
	}
	if (rc == 0)
		globfree(&g);
}

/* Makes st the block that statements go into; past TREE_MAX_DEPTH blocks are read, dropped. */
static void open_block(struct builder *b, struct imp_stmt *st)
{
	if (b->depth + 1 >= TREE_MAX_DEPTH) {
		imp_fatal(b->m, st->file, st->line, "blocks nested deeper than %d", TREE_MAX_DEPTH);
		b->overflow = 1;
		return;
	}
	b->stack[++b->depth] = st;
}

/* Ends the statement being read; `block` when a `{` follows it. */
static void finish(struct builder *b, bool block)
{
	if (!b->n_words && !block)
		return;
	struct imp_stmt *parent = top(b);
	if (b->overflow) {
		b->n_words = 0;
		b->words = NULL;
		if (block)
			b->overflow++;
		return;
	}
	if (!b->n_words && block && b->syn == IMP_SYNTAX_KEEPALIVED && parent->n_kids &&
	    !parent->kids[parent->n_kids - 1].block) {
		/* keepalived: `keyword` then `{` alone on the next line */
		struct imp_stmt *prev = &parent->kids[parent->n_kids - 1];
		prev->block = true;
		open_block(b, prev);
		return;
	}
	struct imp_stmt st = {
		.file = b->file,
		.line = b->n_words ? b->stmt_line : b->line,
		.argv = b->words,
		.argc = b->n_words,
		.block = block
	};
	b->words = NULL;
	b->n_words = 0;
	if (!block && st.argc >= 2 && strcmp(st.argv[0], "include") == 0) {
		include(b, &st);
		return;
	}
	if (!st.argc) { /* argv[0] always exists for the readers: an empty keyword */
		imp_warn(b->m, st.file, st.line, "a block without a keyword");
		word(b, "", 0);
		st.argv = b->words;
		st.argc = 1;
		b->words = NULL;
		b->n_words = 0;
	}
	struct imp_stmt *n = imp_push(b->m, &parent->kids, &parent->n_kids, sizeof(*n));
	*n = st;
	if (block)
		open_block(b, n);
}

static void close_block(struct builder *b)
{
	if (b->overflow) {
		b->overflow--;
		return;
	}
	if (b->depth == 0) {
		imp_fatal(b->m, b->file, b->line, "unbalanced }");
		return;
	}
	b->depth--;
}

static void word(struct builder *b, const char *s, size_t n)
{
	char *w = imp_alloc(b->m, n + 1);
	memcpy(w, s, n);
	if (!b->n_words)
		b->stmt_line = b->line;
	*(char **)imp_push(b->m, &b->words, &b->n_words, sizeof(char *)) = w;
}

/* ---- keepalived ---- */

static const char *var_get(struct builder *b, const char *name, size_t n)
{
	for (size_t i = b->n_vars; i-- > 0;)
		if (strlen(b->var_names[i]) == n && memcmp(b->var_names[i], name, n) == 0)
			return b->var_values[i];
	return NULL;
}

/* $NAME and ${NAME} replaced by their definitions (unknown names stay as written, as
 * keepalived leaves them). */
static char *expand_vars(struct builder *b, const char *line)
{
	struct strbuf o = { 0 };
	for (const char *p = line; *p;) {
		if (*p != '$') {
			sb_putc(&o, *p++);
			continue;
		}
		/* keepalived 2.2: ${NAME}, or $NAME up to the next blank ($VIP/24 is not $VIP) */
		bool brace = p[1] == '{';
		const char *s = p + 1 + brace;
		const char *e = brace ? s + strcspn(s, "}") : s + strcspn(s, " \t");
		const char *v = e > s ? var_get(b, s, (size_t)(e - s)) : NULL;
		if (!v || (brace && *e != '}')) {
			sb_putc(&o, *p++);
			continue;
		}
		sb_puts(&o, v);
		p = e + brace;
	}
	char *r = imp_strdup(b->m, sb_str(&o));
	sb_free(&o);
	return r;
}

/* @id / @^id: the line is read only when keepalived's config id (--node) is / is not id. */
static const char *conditional(struct builder *b, const char *p)
{
	bool neg = p[1] == '^';
	const char *id = p + 1 + neg, *e = id;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	const char *node = b->m->node;
	if (!node && !b->warned_node) {
		imp_warn(b->m, b->file, b->line,
			 "@%.*s lines depend on the node (keepalived -i); pass --node NAME",
			 (int)(e - id), id);
		b->warned_node = true;
	}
	bool is = node && strlen(node) == (size_t)(e - id) && memcmp(node, id, e - id) == 0;
	return is != neg ? e : NULL;
}

static void keepalived_line(struct builder *b, const char *raw)
{
	const char *p = raw + strspn(raw, " \t\r");
	if (*p == '@' && !(p = conditional(b, p)))
		return;
	p += strspn(p, " \t\r");
	if (*p == '$') {
		const char *eq = strchr(p, '=');
		const char *e = p + 1;
		while (*e && *e != '=' && *e != ' ' && *e != '\t')
			e++;
		if (eq && eq == e && e > p + 1) {
			char *value = expand_vars(b, eq + 1);
			*(char **)imp_push(b->m, &b->var_values, &b->n_values, sizeof(char *)) = value;
			*(char **)imp_push(b->m, &b->var_names, &b->n_vars, sizeof(char *)) =
				imp_printf(b->m, "%.*s", (int)(e - p - 1), p + 1);
			return;
		}
	}
	char *l = expand_vars(b, p);
	for (char *q = l; *q;) {
		if (*q == ' ' || *q == '\t' || *q == '\r') {
			q++;
		} else if (*q == '#' || *q == '!') {
			break;
		} else if (*q == '{' || *q == '}') {
			if (*q == '{')
				finish(b, true);
			else {
				finish(b, false);
				close_block(b);
			}
			q++;
		} else if (*q == '"') {
			char *e = strchr(q + 1, '"');
			size_t n = e ? (size_t)(e - q - 1) : strlen(q + 1);
			word(b, q + 1, n);
			q += n + 1 + (e != NULL);
		} else {
			size_t n = strcspn(q, " \t\r{}\"");
			word(b, q, n);
			q += n;
		}
	}
	finish(b, false);
}

/* ---- nginx ---- */

static void nginx_text(struct builder *b, const char *p, const char *end)
{
	char *tmp = imp_alloc(b->m, (size_t)(end - p) + 1);
	while (p < end) {
		char c = *p;
		if (c == '\n') {
			b->line++;
			p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			p++;
		} else if (c == '#') {
			while (p < end && *p != '\n')
				p++;
		} else if (c == ';' || c == '{') {
			if (!b->n_words)
				imp_warn(b->m, b->file, b->line, "unexpected \"%c\"", c);
			finish(b, c == '{');
			p++;
		} else if (c == '}') {
			if (b->n_words) {
				imp_warn(b->m, b->file, b->line, "missing \";\" before \"}\"");
				finish(b, false);
			}
			close_block(b);
			p++;
		} else if (c == '"' || c == '\'') {
			size_t n = 0;
			int start = b->line;
			for (p++; p < end && *p != c; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				b->line += *p == '\n';
				tmp[n++] = *p;
			}
			if (p >= end)
				imp_fatal(b->m, b->file, start, "unterminated quote");
			p++;
			word(b, tmp, n);
		} else {
			const char *s = p;
			while (p < end && *p && !strchr(" \t\r\n;{}\"'", *p))
				p++;
			if (p == s) /* a NUL byte: not a word, not the end of the text */
				p++;
			else
				word(b, s, (size_t)(p - s));
		}
	}
	if (b->n_words)
		imp_fatal(b->m, b->file, b->line, "unexpected end of file (missing \";\")");
}

static void feed(struct builder *b, const char *file, const char *text, size_t len)
{
	const char *saved_file = b->file;
	int saved_line = b->line;
	b->file = file;
	b->line = 1;
	if (b->syn == IMP_SYNTAX_NGINX) {
		nginx_text(b, text, text + len);
	} else {
		for (const char *p = text, *end = text + len; p < end; b->line++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			char *l = imp_alloc(b->m, n + 1);
			memcpy(l, p, n);
			for (size_t i = 0; i < n; i++)
				l[i] = l[i] ? l[i] : ' '; /* a NUL byte is not the end of the line */
			keepalived_line(b, l);
			p += n + 1;
		}
	}
	b->words = NULL;
	b->n_words = 0;
	b->file = saved_file;
	b->line = saved_line;
}

void imp_tree_parse(struct imp_model *m, enum imp_syntax syn, const char *file, const char *text,
		    size_t len, struct imp_stmt *root)
{
	struct builder b = { .m = m, .syn = syn };
	memset(root, 0, sizeof(*root));
	root->file = file;
	root->block = true;
	b.stack[0] = root;
	feed(&b, file, text, len);
	if (b.depth || b.overflow)
		imp_fatal(m, file, 0, "%zu unclosed {", b.depth + b.overflow);
}
