/* Shared by the libFuzzer targets: a tiny byte reader over the fuzzer's input (the first bytes
 * choose the configuration, the rest is the message under test) and an abort that names the
 * broken invariant. Header-only: each target is one translation unit. */
#ifndef BUOY_FUZZ_H
#define BUOY_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f) { return (uint16_t)(fz_u8(f) << 8 | fz_u8(f)); }

/* Copies up to len bytes (zero-filling what the input lacks). */
static inline void fz_bytes(struct fz *f, void *out, size_t len)
{
	size_t k = len < f->n ? len : f->n;
	memcpy(out, f->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	f->p += k;
	f->n -= k;
}

/* The rest of the input in a heap block of exactly its size (+1 NUL when nul is set), so
 * AddressSanitizer catches a read of even one byte past the end. Never NULL. */
static inline uint8_t *fz_rest(struct fz *f, size_t *len, int nul)
{
	uint8_t *b = malloc(f->n + (nul ? 1 : 0) + (f->n || nul ? 0 : 1));
	if (!b)
		abort();
	memcpy(b, f->p, f->n);
	if (nul)
		b[f->n] = 0;
	*len = f->n;
	f->p += f->n;
	f->n = 0;
	return b;
}

#define FZ_ASSERT(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
