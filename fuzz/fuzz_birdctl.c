/* BIRD control-socket replies (src/bgp/birdctl.c), fed the way a socket delivers bytes.
 *
 * Input: one byte choosing the chunk pattern, then the stream. Invariants: the lines seen and
 * the garbage verdict do not depend on how the bytes are split (one call, fuzzer-chosen chunks
 * and one byte at a time agree); every line's text is NUL-terminated within its buffer; the row
 * parsers never crash on any line and fill NUL-terminated fields. */
#include "fuzz.h"
#include "bgp/birdctl.h"

struct acc {
	uint64_t hash;
	size_t lines;
};

static void on_line(void *arg, const struct birdctl_line *l)
{
	struct acc *a = arg;
	size_t n = strnlen(l->text, sizeof(l->text));
	FZ_ASSERT(n < sizeof(l->text));
	FZ_ASSERT(l->code >= 0 && l->code <= 9999);
	a->lines++;
	a->hash = a->hash * 1099511628211ull ^ (uint64_t)l->code ^ ((uint64_t)l->last << 20);
	for (size_t i = 0; i < n; i++)
		a->hash = a->hash * 31 + (uint8_t)l->text[i];
	struct birdctl_proto p;
	if (birdctl_parse_proto(l->text, &p) == 0)
		FZ_ASSERT(strnlen(p.name, sizeof(p.name)) < sizeof(p.name) &&
			  strnlen(p.info, sizeof(p.info)) < sizeof(p.info));
	struct birdctl_bfd b;
	if (birdctl_parse_bfd(l->text, &b) == 0)
		FZ_ASSERT(strnlen(b.address, sizeof(b.address)) < sizeof(b.address));
}

static struct acc run(const uint8_t *b, size_t len, uint8_t pattern, int *rc)
{
	struct birdctl_reader r = { 0 };
	struct acc a = { 0 };
	size_t off = 0, i = 0;
	*rc = 0;
	while (off < len && *rc == 0) {
		size_t chunk = pattern == 0   ? len
			       : pattern == 1 ? 1
					      : (size_t)((pattern >> (i++ % 7)) & 7) + 1;
		if (chunk > len - off)
			chunk = len - off;
		char *c = malloc(chunk); /* exact-size block: an over-read is caught */
		memcpy(c, b + off, chunk);
		*rc = birdctl_feed(&r, c, chunk, on_line, &a);
		free(c);
		off += chunk;
	}
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t pattern = data[0];
	int r1, r2, r3;
	struct acc a = run(data + 1, size - 1, 0, &r1);
	struct acc b = run(data + 1, size - 1, 1, &r2);
	struct acc c = run(data + 1, size - 1, pattern, &r3);
	FZ_ASSERT(r1 == r2 && r2 == r3);
	FZ_ASSERT(a.lines == b.lines && b.lines == c.lines);
	FZ_ASSERT(a.hash == b.hash && b.hash == c.hash);
	return 0;
}
