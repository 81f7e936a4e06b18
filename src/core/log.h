/* One line per event, key=value, to stderr. */
#ifndef BUOY_LOG_H
#define BUOY_LOG_H
#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
int log_level_parse(const char *s, enum log_level *out);

/* fmt is the rest of the line after `level=... msg="..."`, already key=value. */
void log_emit(enum log_level lvl, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) \
	do { \
		if (log_get_level() <= LOG_LVL_DEBUG) \
			log_emit(LOG_LVL_DEBUG, msg, __VA_ARGS__); \
	} while (0)
#define log_info(msg, ...) log_emit(LOG_LVL_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_emit(LOG_LVL_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_emit(LOG_LVL_ERROR, msg, __VA_ARGS__)

#endif
