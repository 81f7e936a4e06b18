/* A hand-built snapshot shared by the ctl/metrics unit tests (header-only: each test is one binary). */
#ifndef BUOY_TEST_SNAP_FIXTURE_H
#define BUOY_TEST_SNAP_FIXTURE_H
#include <arpa/inet.h>
#include <string.h>

#include "ctl/snapshot.h"

static struct snap_server fx_servers[3];
static struct snap_backend fx_backends[1];
static struct snap_listener fx_listeners[1];
static struct snap_vrrp fx_vrrp[1];

/* Two backends' worth of variety in one: up, down (HTTP 500), drained with a quote in reason. */
static void fixture(struct snapshot *s, bool with_vrrp)
{
	memset(fx_servers, 0, sizeof(fx_servers));
	fx_servers[0] = (struct snap_server){
		.address = "198.18.0.21:6443",
		.weight = 1,
		.health_up = true,
		.eligible = true,
		.reason = "HTTP 200",
		.last_result = "ok",
		.last_check_ago_ms = 300,
		.last_change_ago_ms = 65000,
		.last_duration_us = 1500,
		.consecutive_ok = 7,
		.checks_total = 9,
		.checks_failed_total = 2,
		.active = 3,
		.connections_total = 1234,
		.connect_failures_total = 1,
		.bytes_to_server = 4096,
		.bytes_from_server = 10u << 20,
	};
	duration_hist_observe(&fx_servers[0].check_duration, 800);      /* <= 1ms */
	duration_hist_observe(&fx_servers[0].check_duration, 1500);     /* <= 2.5ms */
	duration_hist_observe(&fx_servers[0].check_duration, 20000000); /* +Inf */
	fx_servers[1] = (struct snap_server){
		.address = "198.18.0.22:6443",
		.weight = 2,
		.health_up = false,
		.reason = "HTTP 500",
		.last_result = "fail",
		.last_check_ago_ms = 100,
		.last_change_ago_ms = SNAP_NEVER,
		.consecutive_fail = 4,
		.checks_total = 4,
		.checks_failed_total = 4,
	};
	fx_servers[2] = (struct snap_server){
		.address = "[2001:db8::23]:6443",
		.weight = 1,
		.backup = true,
		.health_up = true,
		.drained = true,
		.reason = "say \"hi\"\\",
		.last_result = "none",
		.last_check_ago_ms = SNAP_NEVER,
		.last_change_ago_ms = SNAP_NEVER,
	};
	fx_backends[0] = (struct snap_backend){
		.name = "apiservers",
		.balance = "roundrobin",
		.health_type = "https",
		.queue_length = 2,
		.queue_timeouts_total = 5,
		.queue_full_total = 9,
		.no_server_total = 6,
		.servers = fx_servers,
		.n_servers = 3,
	};
	fx_listeners[0] = (struct snap_listener){
		.name = "api",
		.bind = "198.18.0.100:6443",
		.backend = "apiservers",
		.accepted_total = 1240,
		.rejected_total = 6,
		.empty_total = 2,
		.fast_path_total = 900,
		.fast_path_active = 12,
	};
	memset(fx_vrrp, 0, sizeof(fx_vrrp));
	fx_vrrp[0] = (struct snap_vrrp){
		.name = "vi_1",
		.interface = "eth0",
		.state = "master",
		.version = 3,
		.router_id = 51,
		.base_priority = 110,
		.effective_priority = 90,
		.vips = { "198.18.0.100/24" },
		.n_vips = 1,
		.state_since_ago_ms = 5000,
		.master_address = "198.18.0.11",
		.master_priority = 90,
		.adverts_received_total = 17,
		.adverts_sent_total = 40,
		.transitions = { { "backup", 1 }, { "master", 1 } },
		.n_transitions = 2,
		.drops = { { "checksum", 3 } },
		.n_drops = 1,
		.trackers = { { "backend", "apiservers", false, "down", -20 } },
		.n_trackers = 1,
	};
	*s = (struct snapshot){
		.node = "lb1",
		.version = "1.2.3",
		.uptime_ms = 3723000,
		.start_time_unix = 1700000000,
		.listeners = fx_listeners,
		.n_listeners = 1,
		.backends = fx_backends,
		.n_backends = 1,
		.vrrp = with_vrrp ? fx_vrrp : NULL,
		.n_vrrp = with_vrrp ? 1 : 0,
		.reclaim = { .pending = 3, .freed_total = 41, .configs = 2 },
		.fast_path = { .mode = "auto", .active = true, .reason = "", .sockets = 24 },
	};
}

static struct bgp_peer_status fx_bgp_peers[2];
static struct bgp_announce_status fx_bgp_ann[2];

/* A BGP section: one session up for 90 s with BFD up, one down; one VIP announced, one not. */
static inline void fixture_bgp(struct snapshot *s)
{
	fx_bgp_peers[0] = (struct bgp_peer_status){
		.name = "tor1",
		.address = "198.18.1.0",
		.asn = 65000,
		.up = true,
		.state = "Established",
		.since_unix = 1000,
		.bfd = "up"
	};
	fx_bgp_peers[1] = (struct bgp_peer_status){
		.name = "tor2",
		.address = "2001:db8:1::1",
		.asn = 65000,
		.up = false,
		.state = "Active",
		.since_unix = 1080,
		.bfd = "off"
	};
	fx_bgp_ann[0] = (struct bgp_announce_status){
		.prefix = "198.18.200.1/32", .announced = true, .wanted = true, .reason = "announced"
	};
	fx_bgp_ann[1] = (struct bgp_announce_status){
		.prefix = "2001:db8:200::1/128", .announced = false, .wanted = false, .reason = "no eligible server: apiservers"
	};
	s->bgp = (struct snap_bgp){
		.present = true,
		.now_unix = 1090,
		.st = { .bird_running = true,
			.bird_pid = 42,
			.bird_error = "",
			.bird_starts_total = 2,
			.configures_total = 7,
			.router_id = htonl(0xc6120101),
			.n_peers = 2,
			.n_announce = 2 },
		.peers = fx_bgp_peers,
		.announce = fx_bgp_ann,
	};
}

/* The reasons of sync_reject_name(1..SYNC_REJECT__COUNT-1), in order: metric label values. */
static const char *const fx_sync_reasons[] = {
	"bad_magic", "bad_version", "truncated",      "bad_mac",  "bad_header",     "bad_node",
	"bad_count", "bad_entry",   "unknown_source", "own_node", "too_many_peers", "replay",
};

/* A sync section: two peers heard from (one with a name that needs escaping), two
 * rejections by reason, some tickles sent. */
static inline void fixture_sync(struct snapshot *s)
{
	struct snap_sync *y = &s->sync;
	*y = (struct snap_sync){
		.present = true,
		.st = { .port = 7946,
			.n_peers_cfg = 2,
			.local_connections = 5,
			.local_cap_hits_total = 1,
			.log_dropped_total = 0,
			.messages_sent_total = 80,
			.bytes_sent_total = 9000,
			.send_errors_total = 0,
			.messages_received_total = 45,
			.takeovers_total = 1,
			.tickles_sent_total = 12,
			.tickle_errors_total = 0,
			.tickles_pending = 4,
			.resets_total = 6,
			.n_peers = 2 },
	};
	for (size_t r = 0; r < sizeof(fx_sync_reasons) / sizeof(fx_sync_reasons[0]); r++) {
		uint64_t v = strcmp(fx_sync_reasons[r], "bad_mac") == 0 ? 2
			     : strcmp(fx_sync_reasons[r], "replay") == 0
				     ? 1
				     : 0;
		y->rejected[y->n_rejected++] = (struct snap_count){ fx_sync_reasons[r], v };
	}
	y->peers[0] = (struct snap_sync_peer){
		.st = { .node = "lb2",
			.addr = "198.18.0.12",
			.connections = 3,
			.messages_total = 40,
			.gaps_total = 1,
			.refreshes_total = 2,
			.last_ms = 1000 },
		.last_message_ago_ms = 200,
	};
	y->peers[1] = (struct snap_sync_peer){
		.st = { .node = "lb\"3",
			.addr = "2001:db8::13",
			.connections = 7,
			.messages_total = 2,
			.cap_hits_total = 9,
			.restarts_total = 1,
			.last_ms = 1000,
			.lost = true },
		.last_message_ago_ms = 61000,
	};
	y->n_peers = 2;
}

/* A UDP listener beside the TCP one: its own counters (JSON, text, metrics). */
static inline void fixture_udp(struct snapshot *s, struct snap_listener *two)
{
	fixture(s, false);
	two[0] = s->listeners[0];
	two[1] = (struct snap_listener){
		.name = "dns",
		.bind = "198.18.0.100:53",
		.backend = "apiservers",
		.udp = true,
		.u = { .sessions_total = 70,
		       .sessions_active = 3,
		       .datagrams_in = 71,
		       .datagrams_out = 69,
		       .bytes_in = 2840,
		       .bytes_out = 5520,
		       .drops = { [0] = 5, [4] = 2 } },
	};
	s->listeners = two;
	s->n_listeners = 2;
}

#endif
