/* The watch path of discovery (src/discover/): raw bytes through the chunked decoder and the
 * NDJSON framer, each line through the event decoder and into an informer view; the same bytes
 * also through the LIST and etcd member decoders.
 *
 * Input: one byte choosing the split pattern and the kind (Endpoints or EndpointSlice), then the
 * bytes. Invariants: chunked decoding and framing do not depend on the split (whole vs. one byte
 * at a time give the same lines and result); a decoded object's endpoints are at most
 * KUBE_MAX_EPS with ports 1..65535; the view never holds more than KUBE_MAX_ITEMS objects; the
 * flattened set is strictly sorted; an empty set is never applied; the HTTP head parser
 * stays within the bytes it is given. */
#include "discover/merge.h"
#include "discover/stream.h"
#include "fuzz.h"

struct sink {
	enum kube_kind kind;
	struct disc_view *view;
	uint64_t hash; /* of the lines seen, to compare two runs */
	size_t lines;
};

static int on_line(const char *line, size_t len, void *ctx)
{
	struct sink *s = ctx;
	for (size_t i = 0; i < len; i++)
		s->hash = (s->hash ^ (uint8_t)line[i]) * 1099511628211ull;
	s->hash = (s->hash ^ '\n') * 1099511628211ull;
	s->lines++;
	struct kube_event ev;
	char err[KUBE_ERR_LEN];
	if (kube_decode_event(line, len, s->kind, &ev, err, sizeof(err))) {
		FZ_ASSERT(err[0]);
		return 0;
	}
	FZ_ASSERT(ev.obj.n <= KUBE_MAX_EPS);
	for (size_t i = 0; i < ev.obj.n; i++)
		FZ_ASSERT(ev.obj.eps[i].port >= 1);
	(void)disc_view_apply(s->view, &ev);
	FZ_ASSERT(s->view->n <= KUBE_MAX_ITEMS);
	return 0;
}

static void run(const uint8_t *b, size_t len, size_t step, struct sink *s, int *result)
{
	struct chunked c;
	struct ndjson nd;
	chunked_init(&c);
	ndjson_init(&nd, 4096);
	enum chunked_result r = CHUNKED_NEED_MORE;
	int frame = 0;
	for (size_t off = 0; off < len && r == CHUNKED_NEED_MORE && !frame;) {
		size_t k = step && step < len - off ? step : len - off, o, used;
		uint8_t *piece = malloc(k);
		memcpy(piece, b + off, k);
		r = chunked_feed(&c, piece, k, piece, &o, &used);
		FZ_ASSERT(o <= used && used <= k);
		frame = ndjson_feed(&nd, piece, o, on_line, s);
		free(piece);
		off += used;
	}
	ndjson_free(&nd);
	*result = (int)r * 4 + frame;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t setup = fz_u8(&f);
	size_t len;
	uint8_t *b = fz_rest(&f, &len, 0);
	enum kube_kind kind = setup & 1 ? KUBE_ENDPOINTS : KUBE_ENDPOINTSLICE;
	static struct disc_view v1, v2;
	memset(&v1, 0, sizeof(v1));
	memset(&v2, 0, sizeof(v2));
	struct sink a = { kind, &v1, 14695981039346656037ull, 0 };
	struct sink c = { kind, &v2, 14695981039346656037ull, 0 };
	int ra, rc;
	run(b, len, 0, &a, &ra);
	run(b, len, (size_t)(setup >> 1) % 9 + 1, &c, &rc);
	FZ_ASSERT(ra == rc && a.hash == c.hash && a.lines == c.lines);
	FZ_ASSERT(v1.n == v2.n);

	static struct disc_set set, applied;
	disc_view_flatten(&v1, &set);
	for (size_t i = 1; i < set.n; i++)
		FZ_ASSERT(ip_addr_cmp(&set.eps[i - 1].ip, &set.eps[i].ip) < 0 ||
			  (ip_addr_cmp(&set.eps[i - 1].ip, &set.eps[i].ip) == 0 &&
			   set.eps[i - 1].port < set.eps[i].port));
	applied.n = 0;
	FZ_ASSERT(disc_decide(&applied, &set) == (set.n ? DISC_APPLY : DISC_KEEP_EMPTY));

	/* the raw bytes as a response head: a length within them, a 3-digit status */
	struct http_head h;
	long hl = http_head_parse((const char *)b, len, &h);
	FZ_ASSERT(hl >= -1 && (hl <= 0 || (size_t)hl <= len));
	if (hl > 0)
		FZ_ASSERT(h.status >= 100 && h.status <= 999 && h.content_length >= -1);
	if (hl == 0)
		FZ_ASSERT(len < HTTP_HEAD_MAX);

	/* the raw bytes as a LIST answer and as an etcd member list */
	static struct kube_list l;
	static struct etcd_members m;
	char err[KUBE_ERR_LEN];
	if (!kube_decode_list((const char *)b, len, kind, &l, err, sizeof(err))) {
		FZ_ASSERT(l.n <= KUBE_MAX_ITEMS && l.rv[0]);
		disc_view_from_list(&v1, &l);
	}
	if (!etcd_decode_members((const char *)b, len, &m, err, sizeof(err)))
		FZ_ASSERT(m.n <= sizeof(m.eps) / sizeof(m.eps[0]));
	free(b);
	return 0;
}
