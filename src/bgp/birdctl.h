/* BIRD's control-socket protocol (BIRD 2 "Remote control", doc/prog): pure parsers.
 *
 * A reply is a series of lines "DDDD-text" (more lines follow), "DDDD text" (the last line of
 * the reply) or " text" (a continuation of the previous code). Codes 0xxx: end/OK, 1xxx: table
 * rows, 2xxx: table headers, 8xxx: run-time errors, 9xxx: parse errors (and some run-time ones).
 * Connecting yields the "0001 BIRD 2.0.12 ready." greeting; `configure` answers
 * "0002-Reading configuration from F" then "0003 Reconfigured" (or 8xxx/9xxx on error);
 * an unknown command "9001 syntax error, ...". (BIRD 2.0.12, raw bytes captured.)
 *
 * birdctl_feed() is a byte-stream splitter that survives arbitrary chunking (the socket gives
 * whatever it has); the table parsers then read rows of `show protocols` and
 * `show bfd sessions`. Garbage (no code, a line over BIRDCTL_MAX_LINE) is reported, never
 * crashed on: the shell then drops the connection and reconnects. */
#ifndef BUOY_BGP_BIRDCTL_H
#define BUOY_BGP_BIRDCTL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BIRDCTL_MAX_LINE 1024

struct birdctl_line {
	int code;                    /* 0..9999; a " text" continuation repeats the last code */
	bool last;                   /* "DDDD text": the reply ends here */
	char text[BIRDCTL_MAX_LINE]; /* without the code, the separator and the newline */
};

/* Splitter state; zero-initialise. */
struct birdctl_reader {
	char buf[BIRDCTL_MAX_LINE + 8];
	size_t len;
	int last_code; /* -1: no reply open (a " text" line is garbage) */
	bool started;
	bool garbage; /* sticky: the stream is not BIRD's protocol */
};

/* Calls cb for every complete line in data (len bytes), in order. Returns 0, or -1 once the
 * stream turned out to be garbage (sticky). */
typedef void (*birdctl_line_cb)(void *arg, const struct birdctl_line *l);
int birdctl_feed(struct birdctl_reader *r, const char *data, size_t len, birdctl_line_cb cb, void *arg);

/* One row of `show protocols`: code 1002, the first row as "1002-row", the others as " row"
 * continuations; the header is code 2002, the reply ends with "0000 ". Row:
 * "name proto table state since info", e.g. "buoy_rt4   BGP   ---   up   1796350643
 * Established" or "buoy_x  BGP  ---  start  1796350691  Idle  Error: BFD session down" or
 * "buoy_x  BGP  ---  down  1796350718  Error: No listening socket" (no session state word).
 * Names may be 64 characters and are then followed by a single space. `since` is Unix seconds
 * under `timeformat protocol "%s"` (which birdconf sets; BIRD 2.0.12 verified). Returns -1 for
 * the header. */
struct birdctl_proto {
	char name[80];      /* BIRD symbols: at most 64 characters */
	char proto[16];     /* "BGP" "BFD" "Static" "Device" */
	char state[16];     /* "up" "down" "start" "stop" "flush" */
	int64_t since_unix; /* -1 when unparsable */
	char info[128];     /* "Established" "Active" "Connect" "Idle" ..., may be "" */
};
/* Parses a 1002 row's text. Returns 0 or -1 (not a row). */
int birdctl_parse_proto(const char *text, struct birdctl_proto *out);

/* One row of `show bfd sessions`: everything is code 1020 — "1020-<bfd proto name>:" then
 * continuation lines, a header " IP address  Interface  State  Since  Interval  Timeout" and
 * the rows "address interface state since interval timeout" (since: Unix seconds, as above);
 * then "0000 ". With no BFD protocol configured the reply is "9001 There is no BFD protocol
 * running". Returns -1 for the non-rows. */
struct birdctl_bfd {
	char address[64];
	char interface[32];
	char state[16]; /* "Up" "Down" "Init" "AdminDown" */
	int64_t since_unix;
};
int birdctl_parse_bfd(const char *text, struct birdctl_bfd *out);

#endif
