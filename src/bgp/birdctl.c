/* BIRD control-socket replies: a chunking-proof line splitter and two table-row parsers. */
#include "bgp/birdctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* One complete line (no newline). Returns 0 or -1 (not BIRD's protocol). */
static int split_line(struct birdctl_reader *r, const char *s, size_t n, struct birdctl_line *out)
{
	if (n >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
	    (s[4] == '-' || s[4] == ' ')) {
		out->code = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		out->last = s[4] == ' ';
		s += 5;
		n -= 5;
	} else if (n >= 1 && s[0] == ' ' && r->last_code >= 0) {
		out->code = r->last_code; /* continuation of the previous code */
		out->last = false;
		s += 1;
		n -= 1;
	} else {
		return -1;
	}
	memcpy(out->text, s, n);
	out->text[n] = 0;
	r->last_code = out->last ? -1 : out->code;
	return 0;
}

int birdctl_feed(struct birdctl_reader *r, const char *data, size_t len, birdctl_line_cb cb, void *arg)
{
	if (r->len == 0 && !r->started) {
		r->started = true;
		r->last_code = -1;
	}
	struct birdctl_line line;
	for (size_t i = 0; i < len && !r->garbage; i++) {
		char c = data[i];
		if (c != '\n') {
			if (r->len >= BIRDCTL_MAX_LINE - 1 || c == '\0') {
				r->garbage = true; /* BIRD's lines are short; a NUL is never text */
				break;
			}
			r->buf[r->len++] = c;
			continue;
		}
		if (split_line(r, r->buf, r->len, &line) < 0) {
			r->garbage = true;
			break;
		}
		r->len = 0;
		cb(arg, &line);
	}
	return r->garbage ? -1 : 0;
}

/* Splits text into at most max whitespace-separated words (in place in buf). */
static size_t words(char *buf, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	return n;
}

static int64_t parse_since(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *s && !*end && v >= 0 ? (int64_t)v : -1;
}

static int copy_word(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);
	if (n >= len)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* A row's words in buf (a copy of text, so a word's offset is the same in both); clears out. */
static size_t row_words(const char *text, char *buf, char **w, size_t max, void *out, size_t out_len)
{
	snprintf(buf, BIRDCTL_MAX_LINE, "%s", text);
	memset(out, 0, out_len);
	return words(buf, w, max);
}

int birdctl_parse_proto(const char *text, struct birdctl_proto *out)
{
	char buf[BIRDCTL_MAX_LINE];
	char *w[6];
	size_t n = row_words(text, buf, w, 5, out, sizeof(*out));
	if (n < 5 || strcmp(w[0], "Name") == 0)
		return -1;
	if (copy_word(out->name, sizeof(out->name), w[0]) < 0 ||
	    copy_word(out->proto, sizeof(out->proto), w[1]) < 0 ||
	    copy_word(out->state, sizeof(out->state), w[3]) < 0)
		return -1;
	out->since_unix = parse_since(w[4]);
	/* info is the rest of the line after the fifth word ("Idle  Error: BFD session down") */
	const char *rest = text + (w[4] - buf) + strlen(w[4]);
	rest += strspn(rest, " \t");
	snprintf(out->info, sizeof(out->info), "%s", rest);
	size_t l = strlen(out->info);
	while (l && (out->info[l - 1] == ' ' || out->info[l - 1] == '\t'))
		out->info[--l] = 0;
	return 0;
}

int birdctl_parse_bfd(const char *text, struct birdctl_bfd *out)
{
	char buf[BIRDCTL_MAX_LINE];
	char *w[7];
	size_t n = row_words(text, buf, w, 6, out, sizeof(*out));
	/* rows start with an address; the "proto:" and "IP address ..." header lines do not */
	if (n < 4 || !strpbrk(w[0], ".:") || w[0][strlen(w[0]) - 1] == ':')
		return -1;
	if (copy_word(out->address, sizeof(out->address), w[0]) < 0 ||
	    copy_word(out->interface, sizeof(out->interface), w[1]) < 0 ||
	    copy_word(out->state, sizeof(out->state), w[2]) < 0)
		return -1;
	out->since_unix = parse_since(w[3]);
	return 0;
}
