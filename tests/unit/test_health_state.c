/* rise/fall state machine with injected time, initial states, reasons, jitter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "health/state.h"

#define OKC true
#define FAILC false

/* Runs a sequence of check results ('+' ok, '-' fail) one second apart and returns the
 * transitions as a string: 'U' became up, 'D' became down, '.' no change. */
static void run_seq(struct server_health *h, uint32_t rise, uint32_t fall, const char *seq, char *out)
{
	uint64_t now = 1000;
	for (size_t i = 0; seq[i]; i++, now += 1000) {
		bool ok = seq[i] == '+';
		enum health_change c = health_state_record(
			h, rise, fall, ok, ok ? "HTTP 200" : "HTTP 500", now, 1234);
		out[i] = c == HEALTH_BECAME_UP ? 'U' : c == HEALTH_BECAME_DOWN ? 'D' : '.';
	}
	out[strlen(seq)] = '\0';
}

struct seq_case {
	bool initial_up;
	uint32_t rise, fall;
	const char *seq, *want;
	bool final_up;
};

static const struct seq_case seqs[] = {
	/* initial up is provisional: the very first failure takes it out */
	{ true, 2, 2, "-", "D", false },
	{ true, 2, 2, "-++", "D.U", true },
	{ true, 2, 2, "-+-++", "D...U", true },
	/* a first success confirms it; then fall applies */
	{ true, 2, 2, "+-", "..", true },
	{ true, 2, 2, "+--", "..D", false },
	{ true, 2, 2, "+-+-+-", "......", true }, /* flapping never reaches fall */
	{ true, 2, 3, "+--+---", "......D", false },
	{ true, 1, 1, "+-+-", ".DUD", false },
	/* initial down: needs rise successes */
	{ false, 2, 2, "+", ".", false },
	{ false, 2, 2, "++", ".U", true },
	{ false, 3, 2, "++-+++", ".....U", true },
	{ false, 2, 2, "----", "....", false },
	{ false, 1, 1, "+", "U", true },
	/* rise/fall 0 are treated as 1 (validation forbids them; be safe anyway) */
	{ false, 0, 0, "+-", "UD", false },
	/* a long run: down after fall, up after rise, down again */
	{ true, 2, 2, "++++--++--", ".....D.U.D", false },
};

static void test_sequences(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		const struct seq_case *c = &seqs[i];
		struct server_health h;
		health_state_init(&h, c->initial_up);
		char got[64];
		run_seq(&h, c->rise, c->fall, c->seq, got);
		if (strcmp(got, c->want) != 0 || h.up != c->final_up)
			fail_msg("case %zu (init %s rise %u fall %u seq %s): got %s up=%d, want %s up=%d",
				 i, c->initial_up ? "up" : "down", c->rise, c->fall, c->seq, got,
				 h.up, c->want, c->final_up);
	}
}

static void test_rise_fall_one(void **state)
{
	(void)state;
	struct server_health h;
	health_state_init(&h, true);
	char got[16];
	run_seq(&h, 1, 1, "+-+-", got);
	assert_string_equal(got, ".DUD");
	assert_false(h.up);
}

static void test_counters_and_times(void **state)
{
	(void)state;
	struct server_health h;
	health_state_init(&h, true);
	assert_true(h.up);
	assert_int_equal(h.last_result, CHECK_NONE);
	assert_int_equal(h.last_check_ms, 0);

	assert_int_equal(health_state_record(&h, 2, 2, true, "HTTP 200", 5000, 800), HEALTH_NO_CHANGE);
	assert_int_equal(h.consecutive_ok, 1);
	assert_int_equal(h.consecutive_fail, 0);
	assert_int_equal(h.last_check_ms, 5000);
	assert_int_equal(h.last_duration_us, 800);
	assert_int_equal(h.last_result, CHECK_OK);
	assert_int_equal(h.last_change_ms, 0);
	assert_string_equal(h.reason, "HTTP 200");

	assert_int_equal(health_state_record(&h, 2, 2, false, "HTTP 500", 6000, 900), HEALTH_NO_CHANGE);
	assert_int_equal(h.consecutive_ok, 0);
	assert_int_equal(h.consecutive_fail, 1);
	assert_true(h.up);
	assert_int_equal(health_state_record(&h, 2, 2, false, "timeout", 7000, 1000000),
			 HEALTH_BECAME_DOWN);
	assert_int_equal(h.consecutive_fail, 2);
	assert_int_equal(h.last_change_ms, 7000);
	assert_string_equal(h.reason, "timeout");
	assert_int_equal(h.last_result, CHECK_FAIL);
	assert_false(h.up);
	/* staying down: no more transitions, counters keep growing */
	assert_int_equal(health_state_record(&h, 2, 2, false, "timeout", 8000, 1), HEALTH_NO_CHANGE);
	assert_int_equal(h.consecutive_fail, 3);
	assert_int_equal(h.last_change_ms, 7000);

	assert_int_equal(health_state_record(&h, 2, 2, true, "HTTP 200", 9000, 1), HEALTH_NO_CHANGE);
	assert_int_equal(health_state_record(&h, 2, 2, true, "HTTP 200", 10000, 1), HEALTH_BECAME_UP);
	assert_int_equal(h.last_change_ms, 10000);
	assert_int_equal(h.checks_total, 6);
	assert_int_equal(h.checks_failed_total, 3);
	/* every check's duration went into the histogram: 800us, 900us, 1s, 1us x3 */
	assert_int_equal(h.check_duration.count, 6);
	assert_int_equal(h.check_duration.sum_us, 800 + 900 + 1000000 + 3);
	assert_true(h.up);
}

static void test_reason_sanitized(void **state)
{
	(void)state;
	struct server_health h;
	health_state_init(&h, false);
	health_state_record(&h, 2, 2, false, "TLS: bad \"quote\"\n\\x", 1, 1);
	assert_string_equal(h.reason, "TLS: bad 'quote'?'x");

	char longr[400];
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	health_state_record(&h, 2, 2, false, longr, 2, 1);
	assert_int_equal(strlen(h.reason), sizeof(h.reason) - 1);

	health_state_record(&h, 2, 2, false, NULL, 3, 1);
	assert_string_equal(h.reason, "");

	char small[4];
	health_reason_copy(small, sizeof(small), "abcdef");
	assert_string_equal(small, "abc");
	health_reason_copy(small, 0, "abcdef"); /* no write at all */
	assert_string_equal(small, "abc");
}

static void test_jitter_bounds_and_spread(void **state)
{
	(void)state;
	uint64_t seed = health_seed(42, 0);
	uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
	const int n = 10000;
	for (int i = 0; i < n; i++) {
		uint64_t d = health_jitter_delay(1000, &seed);
		assert_true(d >= 850 && d <= 1150);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	/* uses the whole ±15% band, centered on the interval */
	assert_true(lo <= 860);
	assert_true(hi >= 1140);
	assert_true(sum / n >= 990 && sum / n <= 1010);

	/* tiny intervals never give 0 */
	for (int i = 0; i < 100; i++) {
		assert_true(health_jitter_delay(1, &seed) >= 1);
		assert_true(health_jitter_delay(0, &seed) >= 1);
		assert_true(health_jitter_delay(7, &seed) >= 6);
	}
}

static void test_jitter_deterministic_and_desynchronized(void **state)
{
	(void)state;
	/* same seed, same sequence */
	uint64_t a = health_seed(7, 3), b = health_seed(7, 3);
	for (int i = 0; i < 100; i++)
		assert_int_equal(health_jitter_delay(2000, &a), health_jitter_delay(2000, &b));
	assert_true(health_seed(0, 0) != 0);
	assert_true(health_seed(7, 3) != health_seed(7, 4));
	assert_true(health_seed(7, 3) != health_seed(8, 3));

	/* three servers starting together drift apart: after 10 checks their check times differ */
	uint64_t seeds[3], t[3];
	for (int s = 0; s < 3; s++) {
		seeds[s] = health_seed(1000 + (uint64_t)s, (uint64_t)s);
		t[s] = health_first_delay(1000, &seeds[s]);
		assert_true(t[s] < 1000);
	}
	for (int i = 0; i < 10; i++)
		for (int s = 0; s < 3; s++)
			t[s] += health_jitter_delay(1000, &seeds[s]);
	assert_true(t[0] != t[1] && t[1] != t[2] && t[0] != t[2]);

	/* the first checks of many servers spread over the interval */
	int buckets[4] = { 0 };
	for (uint64_t s = 0; s < 400; s++) {
		uint64_t sd = health_seed(s * 7919, s);
		buckets[health_first_delay(1000, &sd) / 250]++;
	}
	for (int k = 0; k < 4; k++)
		assert_true(buckets[k] > 60);
	uint64_t sd = 5;
	assert_int_equal(health_first_delay(0, &sd), 0);
}

/* Restarts (reloads, discovery changes) resume each server's schedule: a churn faster than the
 * interval still checks every server once per interval. */
static void test_restart_resumes_schedule(void **state)
{
	(void)state;
	uint64_t sd = health_seed(7, 1);
	assert_int_equal(health_start_delay(0, 5000, 1000, &sd) < 1000, true); /* never scheduled */
	assert_int_equal(health_start_delay(5400, 5000, 1000, &sd), 400);      /* due in 400 ms */
	assert_int_equal(health_start_delay(4000, 5000, 1000, &sd), 0);        /* cut short: now */
	assert_int_equal(health_start_delay(9000, 5000, 1000, &sd), 1000); /* the interval shrank */
	/* restarted every 300 ms, interval 1 s: the check still runs within the first second */
	uint64_t due = 0, now = 0, ran_at = 0;
	for (int i = 0; i < 10 && !ran_at; i++, now += 300) {
		uint64_t d = health_start_delay(due, now, 1000, &sd);
		if (d < 300)
			ran_at = now + d;
		due = now + d;
	}
	assert_true(ran_at && ran_at < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_restart_resumes_schedule),
		cmocka_unit_test(test_rise_fall_one),
		cmocka_unit_test(test_counters_and_times),
		cmocka_unit_test(test_reason_sanitized),
		cmocka_unit_test(test_jitter_bounds_and_spread),
		cmocka_unit_test(test_jitter_deterministic_and_desynchronized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
