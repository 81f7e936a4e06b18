/* Status-line parser: good and bad responses, every chunking, limits, random input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "health/parse.h"

struct resp_case {
	const char *in;
	size_t len;           /* 0 = strlen(in) */
	enum hsp_result want; /* after feeding everything and, if NEED_MORE, hsp_finish() */
	unsigned status;      /* when DONE */
	enum hsp_error err;   /* when ERROR */
};

#define OK(s, st) \
	{ \
		s, 0, HSP_DONE, st, HSP_ERR_NONE \
	}
#define BAD(s, e) \
	{ \
		s, 0, HSP_ERROR, 0, e \
	}

static const struct resp_case cases[] = {
	OK("HTTP/1.1 200 OK\r\n", 200),
	OK("HTTP/1.0 503 Service Unavailable\r\n", 503),
	OK("HTTP/1.1 200\r\n", 200),         /* no reason phrase */
	OK("HTTP/1.1 200 \r\n", 200),        /* empty reason phrase */
	OK("HTTP/1.1 404 Not Found\n", 404), /* bare LF */
	OK("HTTP/1.1 500\n", 500),
	OK("HTTP/1.1   204 No Content\r\n", 204), /* several SP */
	OK("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
	   "5\r\nhello\r\n0\r\n\r\n",
	   200),
	OK("HTTP/1.1 200 OK\r\n\x00\x01\xff garbage after the status line", 200),
	OK("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 200),
	OK("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nX: y\r\n\r\n"
	   "HTTP/1.1 500 Internal Server Error\r\n",
	   500),
	OK("HTTP/1.1 100 Continue\n\nHTTP/1.1 302 Found\n", 302),
	OK("HTTP/1.1 101 Switching Protocols\r\n\r\n", 101), /* final, not interim */
	OK("HTTP/1.1 999 Weird\r\n", 999),
	OK("HTTP/1.1 100\r\n\r\nHTTP/1.1 100\r\n\r\nHTTP/1.0 201 Created\r\n", 201),
	OK("HTTP/1.1 200 tab\there and obs-text \x80\xfe\xff\r\n", 200),
	OK("HTTP/1.9 200 OK\r\n", 200),
	OK("HTTP/1.1 200 OK\r\n"
	   "HTTP/1.1 500 second response ignored\r\n",
	   200),

	BAD("http/1.1 200 OK\r\n", HSP_ERR_BAD_VERSION), /* HTTP-name is case-sensitive */
	BAD("Http/1.1 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/2 200\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/2.0 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/0.9 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/1.10 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/1.x 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/1.1200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP/1.1\t200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("HTTP1.1 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD(" HTTP/1.1 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("\r\nHTTP/1.1 200 OK\r\n", HSP_ERR_BAD_VERSION),
	BAD("SSH-2.0-OpenSSH_9.2\r\n", HSP_ERR_BAD_VERSION),
	BAD("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", HSP_ERR_BAD_VERSION), /* TLS record */
	BAD("<html>Bad Request</html>", HSP_ERR_BAD_VERSION),
	BAD("HTTP/1.1 20 OK\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 2000 OK\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 20x OK\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 -200 OK\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 099 Low\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 000\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 200OK\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 \r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 OK 200\r\n", HSP_ERR_BAD_STATUS),
	BAD("HTTP/1.1 ２００ OK\r\n", HSP_ERR_BAD_STATUS), /* fullwidth digits */
	BAD("HTTP/1.1 200 O\x01K\r\n", HSP_ERR_BAD_REASON),
	BAD("HTTP/1.1 200 O\x7fK\r\n", HSP_ERR_BAD_REASON),
	BAD("HTTP/1.1 200 OK\rX\n", HSP_ERR_BAD_EOL),
	BAD("HTTP/1.1 200\r\r\n", HSP_ERR_BAD_EOL),
	BAD("HTTP/1.1 100 Continue\r\n folded\r\n\r\nHTTP/1.1 200 OK\r\n", HSP_ERR_BAD_HEADER),
	BAD("HTTP/1.1 100 Continue\r\n: empty\r\n\r\nHTTP/1.1 200 OK\r\n", HSP_ERR_BAD_HEADER),
	BAD("HTTP/1.1 100 Continue\r\nX: y\rz\r\n\r\n", HSP_ERR_BAD_EOL),
	BAD("HTTP/1.1 100 Continue\r\n\rX", HSP_ERR_BAD_EOL),
	BAD("HTTP/1.1 100 Continue\r\n\r\nfoo", HSP_ERR_BAD_VERSION),
	BAD("", HSP_ERR_EMPTY),
	BAD("H", HSP_ERR_TRUNCATED),
	BAD("HTTP/1.1 20", HSP_ERR_TRUNCATED),
	BAD("HTTP/1.1 200", HSP_ERR_TRUNCATED),
	BAD("HTTP/1.1 200 OK", HSP_ERR_TRUNCATED),
	BAD("HTTP/1.1 200 OK\r", HSP_ERR_TRUNCATED),
	BAD("HTTP/1.1 100 Continue\r\n\r\n", HSP_ERR_TRUNCATED),
	BAD("HTTP/1.1 100 Continue\r\nX: y\r\n", HSP_ERR_TRUNCATED),
};

/* Feeds buf split at the given cut points (sorted, within len), then finishes on NEED_MORE. */
static enum hsp_result run_split(
	struct http_status_parser *p, const char *in, size_t len, const size_t *cuts, size_t n_cuts)
{
	/* an exact-size heap copy so ASan would catch any read past the end of a chunk */
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, in, len);
	hsp_init(p);
	enum hsp_result r = HSP_NEED_MORE;
	size_t at = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		size_t n = end - at;
		char *chunk = malloc(n ? n : 1);
		assert_non_null(chunk);
		memcpy(chunk, copy + at, n);
		r = hsp_feed(p, n ? chunk : NULL, n);
		free(chunk);
		at = end;
	}
	free(copy);
	if (r == HSP_NEED_MORE)
		r = hsp_finish(p);
	return r;
}

static void check_case(const struct resp_case *c, const struct http_status_parser *p, enum hsp_result r)
{
	if (r != c->want || (r == HSP_DONE && p->status != c->status) ||
	    (r == HSP_ERROR && p->err != c->err))
		fail_msg("input \"%s\": got result %d status %u err %d (%s), want %d %u %d", c->in,
			 r, p->status, p->err, hsp_strerror(p->err), c->want, c->status, c->err);
}

static size_t case_len(const struct resp_case *c) { return c->len ? c->len : strlen(c->in); }

static void test_cases_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_status_parser p;
		enum hsp_result r = run_split(&p, cases[i].in, case_len(&cases[i]), NULL, 0);
		check_case(&cases[i], &p, r);
	}
}

/* Every single split point, and every pair of split points, gives the same answer. */
static void test_cases_every_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = case_len(&cases[i]);
		for (size_t a = 0; a <= len; a++) {
			struct http_status_parser p;
			size_t cut1[1] = { a };
			check_case(&cases[i], &p, run_split(&p, cases[i].in, len, cut1, 1));
			for (size_t b = a; b <= len && len < 80; b++) {
				size_t cut2[2] = { a, b };
				check_case(&cases[i], &p, run_split(&p, cases[i].in, len, cut2, 2));
			}
		}
	}
}

static void test_cases_byte_at_a_time(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = case_len(&cases[i]);
		size_t *cuts = calloc(len + 1, sizeof(*cuts));
		for (size_t k = 0; k < len; k++)
			cuts[k] = k + 1;
		struct http_status_parser p;
		check_case(&cases[i], &p, run_split(&p, cases[i].in, len, cuts, len));
		free(cuts);
	}
}

static void test_minor_version_and_sticky_result(void **state)
{
	(void)state;
	struct http_status_parser p;
	hsp_init(&p);
	assert_int_equal(hsp_feed(&p, "HTTP/1.0 200 OK\r\n", 17), HSP_DONE);
	assert_int_equal(p.minor, 0);
	assert_int_equal(p.total, 17);
	/* once done, more input is not read and the answer stays */
	assert_int_equal(hsp_feed(&p, "HTTP/1.1 500 X\r\n", 16), HSP_DONE);
	assert_int_equal(p.total, 17);
	assert_int_equal(p.status, 200);
	assert_int_equal(hsp_finish(&p), HSP_DONE);

	hsp_init(&p);
	assert_int_equal(hsp_feed(&p, "XTTP", 4), HSP_ERROR);
	assert_int_equal(p.total, 1);
	assert_int_equal(hsp_feed(&p, "HTTP/1.1 200 OK\r\n", 17), HSP_ERROR);
	assert_int_equal(hsp_finish(&p), HSP_ERROR);
	assert_int_equal(p.err, HSP_ERR_BAD_VERSION);

	/* the answer comes at the LF; the bytes after it are left alone */
	hsp_init(&p);
	assert_int_equal(hsp_feed(&p, "HTTP/1.1 204\r\nDate: x\r\n", 23), HSP_DONE);
	assert_int_equal(p.total, 14);
	assert_int_equal(p.status, 204);
	assert_int_equal(hsp_feed(&p, NULL, 0), HSP_DONE);
}

static char *make_line(size_t total_len)
{
	/* "HTTP/1.1 200 " + reason + "\r\n" with exactly total_len bytes */
	const char *head = "HTTP/1.1 200 ";
	size_t hl = strlen(head);
	char *s = malloc(total_len + 1);
	memcpy(s, head, hl);
	memset(s + hl, 'a', total_len - hl - 2);
	memcpy(s + total_len - 2, "\r\n", 2);
	s[total_len] = '\0';
	return s;
}

static void test_line_length_limit(void **state)
{
	(void)state;
	struct http_status_parser p;
	char *s = make_line(HSP_MAX_LINE);
	hsp_init(&p);
	assert_int_equal(hsp_feed(&p, s, HSP_MAX_LINE), HSP_DONE);
	free(s);

	s = make_line(HSP_MAX_LINE + 1);
	hsp_init(&p);
	assert_int_equal(hsp_feed(&p, s, HSP_MAX_LINE + 1), HSP_ERROR);
	assert_int_equal(p.err, HSP_ERR_TOO_LONG);
	assert_int_equal(p.total, HSP_MAX_LINE + 1); /* stops at the first byte over */
	free(s);

	/* a megabyte of reason phrase, fed in 4 KiB reads: stops early, never reads on */
	size_t big = 1 << 20;
	s = make_line(big);
	hsp_init(&p);
	enum hsp_result r = HSP_NEED_MORE;
	for (size_t at = 0; at < big && r == HSP_NEED_MORE; at += 4096)
		r = hsp_feed(&p, s + at, big - at < 4096 ? big - at : 4096);
	assert_int_equal(r, HSP_ERROR);
	assert_int_equal(p.err, HSP_ERR_TOO_LONG);
	free(s);
}

static void test_interim_limit(void **state)
{
	(void)state;
	const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
	size_t cl = strlen(cont);
	size_t n = HSP_MAX_INTERIM / cl + 2;
	struct http_status_parser p;
	hsp_init(&p);
	enum hsp_result r = HSP_NEED_MORE;
	for (size_t i = 0; i < n && r == HSP_NEED_MORE; i++)
		r = hsp_feed(&p, cont, cl);
	assert_int_equal(r, HSP_ERROR);
	assert_int_equal(p.err, HSP_ERR_TOO_LONG);

	/* a few interim responses are fine */
	hsp_init(&p);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hsp_feed(&p, cont, cl), HSP_NEED_MORE);
	assert_int_equal(hsp_feed(&p, "HTTP/1.1 200 OK\r\n", 17), HSP_DONE);
	assert_int_equal(p.status, 200);
}

static void test_every_status_code(void **state)
{
	(void)state;
	char line[32];
	for (unsigned st = 0; st <= 999; st++) {
		snprintf(line, sizeof(line), "HTTP/1.1 %03u X\r\n", st);
		struct http_status_parser p;
		hsp_init(&p);
		enum hsp_result r = hsp_feed(&p, line, strlen(line));
		if (st < 100) {
			assert_int_equal(r, HSP_ERROR);
			assert_int_equal(p.err, HSP_ERR_BAD_STATUS);
		} else if (st < 200 && st != 101) {
			assert_int_equal(r, HSP_NEED_MORE); /* interim, waits for headers' end */
		} else {
			assert_int_equal(r, HSP_DONE);
			assert_int_equal(p.status, st);
		}
	}
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random inputs built from response-ish pieces: no crash, no read past the end (ASan), and the
 * answer never depends on how the bytes were chunked. */
static void test_random_inputs_chunking_invariant(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"HTTP/1.1 ", "HTTP/1.0 ", "http/", "200", "100",   "1",        "0",
		" ",         "OK",        "\r\n",  "\n",  "\r",    "\t",       "X: y",
		":",         "\x00",      "\xff",  "2",   "HTTP/", "\r\n\r\n", "9",
	};
	uint64_t seed = 0x1234567;
	char buf[256];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;
		int n = (int)(rng_next(&seed) % 12);
		for (int k = 0; k < n; k++) {
			const char *pc = pieces[rng_next(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t pl = pc[0] ? strlen(pc) : 1;
			if (len + pl > sizeof(buf))
				break;
			memcpy(buf + len, pc, pl);
			len += pl;
		}
		struct http_status_parser whole, split;
		enum hsp_result r1 = run_split(&whole, buf, len, NULL, 0);
		size_t cuts[3] = { 0, 0, 0 };
		for (int k = 0; k < 3; k++)
			cuts[k] = len ? rng_next(&seed) % (len + 1) : 0;
		/* sort the three cuts */
		for (int a = 0; a < 3; a++)
			for (int b = a + 1; b < 3; b++)
				if (cuts[b] < cuts[a]) {
					size_t t = cuts[a];
					cuts[a] = cuts[b];
					cuts[b] = t;
				}
		enum hsp_result r2 = run_split(&split, buf, len, cuts, 3);
		assert_int_equal(r1, r2);
		assert_int_equal(whole.status, split.status);
		assert_int_equal(whole.err, split.err);
		assert_int_equal(whole.total, split.total);
		assert_true(r1 != HSP_NEED_MORE);
	}
}

static void test_expect_status(void **state)
{
	(void)state;
	/* default: 200 only */
	assert_true(health_status_expected(NULL, 0, 200));
	assert_false(health_status_expected(NULL, 0, 204));
	assert_false(health_status_expected(NULL, 0, 500));

	struct status_range r[] = { { 200, 399 } };
	assert_true(health_status_expected(r, 1, 200));
	assert_true(health_status_expected(r, 1, 301));
	assert_true(health_status_expected(r, 1, 399));
	assert_false(health_status_expected(r, 1, 199));
	assert_false(health_status_expected(r, 1, 400));
	assert_false(health_status_expected(r, 1, 500));

	/* a list: 200, 204, 401 (an apiserver denying anonymous access is still alive) */
	struct status_range list[] = { { 200, 200 }, { 204, 204 }, { 401, 401 } };
	assert_true(health_status_expected(list, 3, 200));
	assert_true(health_status_expected(list, 3, 204));
	assert_true(health_status_expected(list, 3, 401));
	assert_false(health_status_expected(list, 3, 201));
	assert_false(health_status_expected(list, 3, 403));
	assert_false(health_status_expected(list, 3, 500));

	/* a count larger than the array the config can hold is clamped, not read past */
	struct status_range full[CFG_MAX_EXPECT];
	for (int i = 0; i < CFG_MAX_EXPECT; i++)
		full[i] = (struct status_range){ (uint16_t)(100 + i), (uint16_t)(100 + i) };
	assert_true(health_status_expected(full, CFG_MAX_EXPECT + 100, 100 + CFG_MAX_EXPECT - 1));
	assert_false(health_status_expected(full, CFG_MAX_EXPECT + 100, 100 + CFG_MAX_EXPECT));
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = HSP_ERR_NONE; e <= HSP_ERR_TRUNCATED; e++) {
		const char *s = hsp_strerror((enum hsp_error)e);
		assert_non_null(s);
		assert_true(strlen(s) > 3);
	}
	assert_string_equal(hsp_strerror((enum hsp_error)999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_whole),
		cmocka_unit_test(test_cases_every_split),
		cmocka_unit_test(test_cases_byte_at_a_time),
		cmocka_unit_test(test_minor_version_and_sticky_result),
		cmocka_unit_test(test_line_length_limit),
		cmocka_unit_test(test_interim_limit),
		cmocka_unit_test(test_every_status_code),
		cmocka_unit_test(test_random_inputs_chunking_invariant),
		cmocka_unit_test(test_expect_status),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
