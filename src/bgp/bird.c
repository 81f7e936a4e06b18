/* The BIRD child and its control socket: start, restart with backoff, write bird.conf, send
 * `configure`, poll `show protocols` / `show bfd sessions` (bgp_internal.h). */
#include "bgp/bgp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bgp/birdconf.h"
#include "core/log.h"
#include "core/strbuf.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_RUN_MS 60000
#define BIRD_REPLY_TIMEOUT_MS 5000 /* a BIRD that ran this long restarts without backoff */

/* Logged once per change of the reason, always kept for status. */
void bird_note_error(struct bgp *b, const char *fmt, ...)
{
	char buf[sizeof(b->bird_error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, b->bird_error) == 0)
		return;
	snprintf(b->bird_error, sizeof(b->bird_error), "%s", buf);
	if (*buf)
		log_warn("bgp bird problem", "reason=\"%s\"", buf);
}

int bird_write_conf(struct bgp *b)
{
	bool set[b->n_ann ? b->n_ann : 1], degraded[b->n_ann ? b->n_ann : 1];
	for (size_t i = 0; i < b->n_ann; i++) {
		set[i] = b->ann[i].gate.announced;
		degraded[i] = set[i] && b->ann[i].degraded;
	}
	struct strbuf sb = { 0 };
	char tmp[PATH_MAX + 8];
	int rc = -1;
	if (birdconf_render(b->b, b->router_id, set, degraded, &sb) < 0 || sb.oom) {
		log_error("bgp config render failed", "reason=\"out of memory\"");
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", b->conf_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, sb.p, sb.len) != (ssize_t)sb.len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, b->conf_path) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		log_error("bgp config write failed", "file=%s err=\"%s\"", b->conf_path, strerror(e));
		goto out;
	}
	memcpy(b->file_set, set, b->n_ann * sizeof(bool));
	memcpy(b->file_degraded, degraded, b->n_ann * sizeof(bool));
	b->conf_gen++;
	rc = 0;
out:
	sb_free(&sb);
	return rc;
}

/* ---- the child ---- */

void bird_restart_timer(struct loop *l, struct timer *t)
{
	(void)l;
	bird_start(t->arg);
}

static void schedule_restart(struct bgp *b)
{
	if (b->stopping && b->stop_due_ms <= loop_now(b->loop))
		return;
	uint64_t ran = loop_now(b->loop) - b->bird_started_ms;
	if (ran >= STABLE_RUN_MS || !b->backoff_ms)
		b->backoff_ms = BACKOFF_MIN_MS;
	else if (b->backoff_ms < BACKOFF_MAX_MS)
		b->backoff_ms = b->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->backoff_ms * 2;
	timer_arm_in(b->loop, &b->restart, b->backoff_ms);
}

static void mark_bird_down(struct bgp *b)
{
	bird_ctl_close(b);
	b->bird_ready = false;
	for (size_t i = 0; i < b->n_peers; i++) {
		struct bgp_peer *p = &b->peers[i];
		if (p->up)
			log_info("bgp session changed",
				 "peer=%s address=%s state=down reason=\"bird not running\"",
				 p->cfg->name, p->cfg->text);
		p->up = false;
		snprintf(p->state, sizeof(p->state), "down");
		p->since_unix = (int64_t)time(NULL);
		p->bfd[0] = 0;
	}
	/* a dead BIRD exports nothing: what it had is gone with its sessions */
	memset(b->bird_set, 0, b->n_ann * sizeof(bool));
	b->withdraw_pending_since = 0;
	bgp_announce_confirmed(b);
}

static void child_exited(struct child *c, enum spawn_result r, int status, void *arg)
{
	(void)c;
	struct bgp *b = arg;
	bird_note_error(b, "bird exited (%s %d)", r == SPAWN_EXITED ? "status" : "signal", status);
	mark_bird_down(b);
	schedule_restart(b);
}

void bird_start(struct bgp *b)
{
	if (child_running(&b->child))
		return;
	if (spawn_resolve_program(b->b->bird ? b->b->bird : "bird", b->bird_path, sizeof(b->bird_path)) <
	    0) {
		bird_note_error(b, "bird binary %s not found", b->b->bird ? b->b->bird : "bird");
		b->bird_started_ms = loop_now(b->loop);
		schedule_restart(b);
		return;
	}
	unlink(b->sock_path); /* a crashed run's socket; BIRD refuses an existing path */
	char *argv[] = { b->bird_path, "-f", "-c", b->conf_path, "-s", b->sock_path, NULL };
	b->bird_started_ms = loop_now(b->loop);
	int rc = child_spawn_supervised(b->loop, &b->child, argv, child_exited, b);
	if (rc < 0) {
		bird_note_error(b, "bird start failed: %s", strerror(-rc));
		schedule_restart(b);
		return;
	}
	b->bird_starts_total++;
	b->bird_gen = b->conf_gen; /* it reads the file as it is now */
	b->asked_gen = b->conf_gen;
	memcpy(b->bird_set, b->file_set, b->n_ann * sizeof(bool));
	log_info("bgp bird started", "pid=%d config=%s socket=%s", (int)b->child.pid, b->conf_path,
		 b->sock_path);
	/* Unconfirmed until it answers on its socket; an announcement counts from then. */
	timer_arm_in(b->loop, &b->poll, 100);
}

void bird_stop(struct bgp *b)
{
	bird_ctl_close(b);
	timer_cancel(b->loop, &b->restart);
	timer_cancel(b->loop, &b->poll);
	if (child_running(&b->child))
		child_abort(&b->child);
}

void bird_kill(struct bgp *b, const char *why)
{
	if (!child_running(&b->child))
		return;
	log_warn("bgp bird killed", "pid=%d reason=\"%s\"", (int)b->child.pid, why);
	kill(-b->child.pid, SIGKILL); /* reaped through the pidfd: child_exited restarts it */
}

/* ---- the control socket ---- */

void bird_ctl_close(struct bgp *b)
{
	if (b->ctl.fd < 0)
		return;
	loop_del(b->loop, &b->ctl);
	close(b->ctl.fd);
	b->ctl.fd = -1;
	b->cmd = CMD_NONE;
	memset(&b->rd, 0, sizeof(b->rd));
}

static void ctl_fail(struct bgp *b, const char *why)
{
	b->ctl_errors_total++;
	bird_note_error(b, "control socket: %s", why);
	bird_ctl_close(b);
}

static void send_cmd(struct bgp *b, enum bird_cmd cmd, const char *text)
{
	size_t n = strlen(text);
	if (write(b->ctl.fd, text, n) != (ssize_t)n) {
		ctl_fail(b, "write failed");
		return;
	}
	b->cmd = cmd;
	b->cmd_sent_ms = loop_now(b->loop);
	b->reply_code = -1;
	b->reply_text[0] = 0;
	if (cmd == CMD_CONFIGURE) {
		b->asked_gen = b->conf_gen;
		memcpy(b->asked_set, b->file_set, b->n_ann * sizeof(bool));
	}
}

static const char *bfd_state_lower(const char *s)
{
	if (strcasecmp(s, "up") == 0)
		return "up";
	if (strcasecmp(s, "down") == 0)
		return "down";
	if (strcasecmp(s, "init") == 0)
		return "init";
	if (strcasecmp(s, "admindown") == 0)
		return "admindown";
	return "";
}

static void on_proto_row(struct bgp *b, const char *text)
{
	struct birdctl_proto row;
	if (birdctl_parse_proto(text, &row) < 0)
		return;
	for (size_t i = 0; i < b->n_peers; i++) {
		struct bgp_peer *p = &b->peers[i];
		if (strcmp(p->proto, row.name) != 0)
			continue;
		/* info is "Established", "Active", or "Idle  Error: BFD session down": the first
		 * word is the session state, the rest why */
		char st[32];
		const char *info = row.info[0] ? row.info : row.state;
		size_t w = strcspn(info, " \t");
		snprintf(st, sizeof(st), "%.*s", (int)(w < sizeof(st) ? w : sizeof(st) - 1), info);
		const char *why = info + w + strspn(info + w, " \t");
		bool up = strcmp(row.state, "up") == 0 && strcmp(st, "Established") == 0;
		if (up != p->up || strcmp(st, p->state) != 0) {
			log_info("bgp session changed", "peer=%s address=%s state=%s up=%s%s%s%s",
				 p->cfg->name, p->cfg->text, st, up ? "true" : "false",
				 *why ? " reason=\"" : "", why, *why ? "\"" : "");
			snprintf(p->state, sizeof(p->state), "%s", st);
		}
		p->up = up;
		p->since_unix = row.since_unix;
	}
}

static void on_bfd_row(struct bgp *b, const char *text)
{
	struct birdctl_bfd row;
	struct ip_addr addr;
	if (birdctl_parse_bfd(text, &row) < 0 || parse_ip_addr(row.address, &addr) < 0)
		return;
	for (size_t i = 0; i < b->n_peers; i++) {
		struct bgp_peer *p = &b->peers[i];
		if (!p->cfg->bfd || !ip_addr_equal(&p->cfg->addr, &addr))
			continue;
		const char *st = bfd_state_lower(row.state);
		if (strcmp(st, p->bfd) != 0)
			log_info("bgp bfd changed", "peer=%s address=%s bfd=%s", p->cfg->name,
				 p->cfg->text, *st ? st : row.state);
		snprintf(p->bfd, sizeof(p->bfd), "%s", st);
	}
}

static void reply_done(struct bgp *b)
{
	enum bird_cmd cmd = b->cmd;
	b->cmd = CMD_NONE;
	bool err = b->reply_code >= 8000;
	if (cmd == CMD_GREETING) {
		if (b->reply_code != 1) {
			ctl_fail(b, "no greeting");
			return;
		}
		bird_note_error(b, "%s", "");
		b->bird_ready = true;
		/* it has read the file it started with: what it exports is known now */
		bgp_announce_confirmed(b);
	} else if (cmd == CMD_CONFIGURE) {
		b->configures_total++;
		if (err) {
			b->configure_failures_total++;
			log_error("bgp configure refused", "code=%d reply=\"%s\"", b->reply_code,
				  b->reply_text);
			bird_kill(b, "configure refused"); /* never keep exporting an old set */
			return;
		}
		b->bird_gen = b->asked_gen;
		memcpy(b->bird_set, b->asked_set, b->n_ann * sizeof(bool));
		if (b->bird_gen == b->conf_gen)
			b->withdraw_pending_since = 0;
		bgp_announce_confirmed(b);
	}
}

static void on_line(void *arg, const struct birdctl_line *l)
{
	struct bgp *b = arg;
	if (b->ctl.fd < 0)
		return;
	b->reply_code = l->code;
	if (l->code >= 8000 || b->cmd == CMD_CONFIGURE)
		snprintf(b->reply_text, sizeof(b->reply_text), "%.159s", l->text);
	if (b->cmd == CMD_PROTOCOLS && l->code >= 1000 && l->code < 2000)
		on_proto_row(b, l->text);
	else if (b->cmd == CMD_BFD && l->code >= 1000 && l->code < 2000)
		on_bfd_row(b, l->text);
	if (l->last)
		reply_done(b);
}

static void ctl_readable(struct loop *lp, struct io *io, uint32_t ev)
{
	(void)lp;
	struct bgp *b = io->arg;
	char buf[4096];
	for (;;) {
		ssize_t n = read(io->fd, buf, sizeof(buf));
		if (n > 0) {
			if (b->cmd == CMD_NONE) {
				ctl_fail(b, "unsolicited bytes");
				return;
			}
			if (birdctl_feed(&b->rd, buf, (size_t)n, on_line, b) < 0) {
				ctl_fail(b, "garbage reply");
				return;
			}
			if (b->ctl.fd < 0)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		ctl_fail(b, n == 0 ? "closed by bird" : strerror(errno));
		return;
	}
	(void)ev;
}

static void ctl_connect(struct bgp *b)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(b->sock_path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, b->sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd); /* not there yet (BIRD starting): the next poll tries again */
		return;
	}
	b->ctl.fd = fd;
	b->ctl.cb = ctl_readable;
	b->ctl.arg = b;
	memset(&b->rd, 0, sizeof(b->rd));
	if (loop_add(b->loop, &b->ctl, EPOLLIN) < 0) {
		close(fd);
		b->ctl.fd = -1;
		return;
	}
	b->cmd = CMD_GREETING;
	b->cmd_sent_ms = loop_now(b->loop);
	b->reply_code = -1;
}

/* A withdrawal BIRD has not confirmed in time: its sessions must go (bgp.h). */
static void check_withdraw_deadline(struct bgp *b)
{
	uint64_t now = loop_now(b->loop);
	if (!b->withdraw_pending_since || now < b->withdraw_pending_since + BGP_WITHDRAW_DEADLINE_MS)
		return;
	b->withdraw_pending_since = 0;
	bird_kill(b, "withdrawal not confirmed in time");
}

void bird_poll(struct loop *l, struct timer *t)
{
	struct bgp *b = t->arg;
	check_withdraw_deadline(b);
	if (b->ctl.fd >= 0 && b->cmd != CMD_NONE && loop_now(l) > b->cmd_sent_ms + BIRD_REPLY_TIMEOUT_MS)
		ctl_fail(b, "no reply in time");
	if (child_running(&b->child)) {
		if (b->ctl.fd < 0)
			ctl_connect(b);
		else if (b->cmd == CMD_NONE && b->asked_gen != b->conf_gen)
			send_cmd(b, CMD_CONFIGURE, "configure\n");
		else if (b->cmd == CMD_NONE) {
			send_cmd(b, b->want_bfd_next ? CMD_BFD : CMD_PROTOCOLS,
				 b->want_bfd_next ? "show bfd sessions\n" : "show protocols\n");
			b->want_bfd_next = !b->want_bfd_next;
		}
	}
	/* faster while something is owed to BIRD, else the status poll rate */
	bool owed = b->asked_gen != b->conf_gen || b->ctl.fd < 0 || b->cmd == CMD_GREETING;
	timer_arm_in(l, t, owed ? 50 : BGP_POLL_MS / 2);
}
