/* The VRRP state machine (RFC 5798 6.4, RFC 3768 6.4, RFC 9568), pure: time in ms is passed in,
 * and every input returns a list of actions for the shell to carry out in order.
 *
 * Beyond the RFC tables (keepalived-compatible behaviour):
 *   - Fault state: entered when a tracker says so (weight-0 failure, link down). A master sends a
 *     priority-0 advert and drops its VIPs; adverts are ignored while in Fault.
 *   - A master hearing a lower priority (or equal priority from a lower address) answers at once
 *     with its own advert and a GARP burst (RFC 9568, keepalived default), so a freshly started
 *     or split-brained peer learns who is master without waiting a whole interval.
 *   - A master yielding to a higher priority sends one last advert of its own first, so the
 *     winner hears a lower priority and re-announces its VIPs (after a split brain, neighbours
 *     may point at the loser; keepalived's vrrp_higher_prio_send_advert).
 *   - preempt_delay (keepalived semantics): a backup that would preempt a lower-priority master,
 *     or take over at startup, waits preempt_delay longer first.
 *   - An effective-priority change while master is advertised at once.
 *   - Unfit (buoy): a node whose tracked backends are all down (and not `strict`) advertises
 *     VRRP_PRIO_UNFIT. A backup of a higher priority takes the VIP from such a master even
 *     without preempt (by the master-down timer, so a master that recovers within ~3 intervals
 *     keeps it: no flap when every node recovers at once); when every node is unfit the VIP
 *     stays where it is.
 */
#ifndef BUOY_VRRP_FSM_H
#define BUOY_VRRP_FSM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vrrp/packet.h"

enum vrrp_state {
	VRRP_STATE_INIT,
	VRRP_STATE_BACKUP,
	VRRP_STATE_MASTER,
	VRRP_STATE_FAULT,
	VRRP_STATE__COUNT
};

extern const char *const vrrp_state_names[VRRP_STATE__COUNT]; /* "INIT" "BACKUP" "MASTER" "FAULT" */
/* Lower case, for status and the buoy_vrrp_state metric label: "init" "backup" "master" "fault"
 * ("unknown" out of range). Stable: dashboards and alerts match on them. */
const char *vrrp_state_label(enum vrrp_state s);

enum vrrp_action_type {
	VRRP_ACT_SEND_ADVERT, /* .priority (0 on shutdown / fault) */
	VRRP_ACT_ADD_VIPS,
	VRRP_ACT_DEL_VIPS,
	VRRP_ACT_GARP,            /* start a gratuitous ARP / unsolicited NA burst */
	VRRP_ACT_ARM_ADVER,       /* .deadline_ms absolute; 0 = cancel */
	VRRP_ACT_ARM_MASTER_DOWN, /* .deadline_ms absolute; 0 = cancel */
	VRRP_ACT_NOTIFY,          /* .state entered */
};

/* The advertised priority of an unfit node; a fit node that could be unfit advertises >= 2. */
#define VRRP_PRIO_UNFIT 1

/* Pure: the priority to run with, from the trackers' weighted priority and the unfit flag.
 * can_be_unfit: the instance has a soft tracker (a fit node then never advertises 1). */
uint8_t vrrp_unfit_priority(uint8_t weighted, bool unfit, bool can_be_unfit);

struct vrrp_action {
	enum vrrp_action_type type;
	uint8_t priority;
	uint64_t deadline_ms;
	enum vrrp_state state;
};

#define VRRP_MAX_ACTIONS 8
struct vrrp_actions {
	struct vrrp_action v[VRRP_MAX_ACTIONS];
	size_t n;
};

struct vrrp_fsm_cfg {
	uint8_t version;       /* 2 or 3: selects the skew formula */
	uint8_t priority;      /* configured (base) priority 1..255 */
	uint32_t adver_int_ms; /* our Advertisement_Interval */
	bool preempt;
	uint64_t preempt_delay_ms;
	struct ip_addr primary; /* our primary address: the tie-breaker */
};

struct vrrp_fsm {
	struct vrrp_fsm_cfg cfg;
	enum vrrp_state state;
	uint8_t priority;             /* effective priority (trackers applied); 255 stays 255 */
	bool fault;                   /* a tracker holds us in Fault */
	uint32_t master_adver_int_ms; /* learned from the master (v3) */
	uint64_t adver_deadline_ms;   /* 0 = not armed */
	uint64_t master_down_deadline_ms;
	uint64_t preempt_since_ms;  /* first time we were held back by preempt_delay; 0 = never */
	bool seen_master;           /* any advert accepted since entering Backup */
	struct ip_addr master_addr; /* current master (ourselves when master), family 0 unknown */
	uint8_t master_priority;    /* last advertised priority of the current master */
	uint64_t state_since_ms;
	uint64_t transitions[VRRP_STATE__COUNT]; /* number of times each state was entered */
};

/* An advert that passed vrrp_decode(). */
struct vrrp_fsm_advert {
	uint8_t priority;
	uint32_t interval_ms;
	struct ip_addr src;
};

void vrrp_fsm_init(struct vrrp_fsm *f, const struct vrrp_fsm_cfg *cfg);

/* Inputs. Each clears `out` and fills it with the actions to perform in order. */
void vrrp_fsm_startup(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out);
void vrrp_fsm_shutdown(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out);
void vrrp_fsm_on_advert(
	struct vrrp_fsm *f, uint64_t now, const struct vrrp_fsm_advert *a, struct vrrp_actions *out);
/* Fires whichever armed timer is due at `now` (both may be checked; at most one is armed). */
void vrrp_fsm_on_timer(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out);
void vrrp_fsm_set_fault(struct vrrp_fsm *f, uint64_t now, bool fault, struct vrrp_actions *out);
/* New effective priority; ignored (kept 255) for an address owner. 0 is taken as 1. */
void vrrp_fsm_set_priority(struct vrrp_fsm *f, uint64_t now, uint8_t prio, struct vrrp_actions *out);

/* Timing formulas (exposed for tests and status). */
uint32_t vrrp_skew_ms(uint8_t version, uint8_t priority, uint32_t master_adver_int_ms);
uint32_t vrrp_master_down_ms(uint8_t version, uint8_t priority, uint32_t master_adver_int_ms);
/* Earliest armed deadline, 0 if none. */
uint64_t vrrp_fsm_next_deadline(const struct vrrp_fsm *f);

#endif
