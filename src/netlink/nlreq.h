/* One synchronous rtnetlink request (the shell under vip.c and link.c; internal to src/netlink):
 * a NETLINK_ROUTE socket opened for the call and connected to the kernel, the request sent with
 * an ack asked for, the reply read and decoded (nldecode.h) until the ack or the end of a dump.
 * It waits only on the kernel, like any other syscall on the loop. */
#ifndef BUOY_NLREQ_H
#define BUOY_NLREQ_H
#include <libmnl/libmnl.h>

/* Big enough for one kernel dump batch (libmnl's MNL_SOCKET_DUMP_SIZE, absent in older
 * releases). */
#define NL_RECV_SIZE 32768

/* Sends req (its seq is set here, NLM_F_ACK added) and runs cb (may be NULL) on every reply
 * message. Returns 0 or -errno (the kernel's error for the request, e.g. -EEXIST). */
int nl_request(struct nlmsghdr *req, mnl_cb_t cb, void *data);

#endif
