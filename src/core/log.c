#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Written by the main thread on reload, read by every worker: atomic, relaxed is enough. */
static _Atomic enum log_level g_level = LOG_LVL_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level lvl) { g_level = lvl; }
enum log_level log_get_level(void) { return g_level; }

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_emit(enum log_level lvl, const char *msg, const char *fmt, ...)
{
	if (lvl < g_level)
		return;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(
		line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, names[lvl], msg);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 2;
	if (fmt && *fmt) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m < (int)(sizeof(line) - (size_t)n - 1)
				     ? m
				     : (int)(sizeof(line) - (size_t)n - 2);
	}
	line[n++] = '\n';
	/* one write() per line so lines from worker threads never interleave */
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
}
