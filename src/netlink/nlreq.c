#include "netlink/nlreq.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <time.h>

#include "netlink/nldecode.h"

int nl_request(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	int rc = 0;
	/* Connected to the kernel (port 0), the socket gets no unicast from other processes: a
	 * local process cannot race a forged reply in (the kernel refuses it, ECONNREFUSED). */
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    connect(mnl_socket_get_fd(nl), (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		rc = -errno;
		goto out;
	}
	static unsigned seq_counter;
	req->nlmsg_seq = (unsigned)time(NULL) + ++seq_counter;
	/* always an ack, so that a single-message reply (RTM_GETLINK by index) also ends */
	req->nlmsg_flags |= NLM_F_ACK;
	unsigned portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	char buf[NL_RECV_SIZE];
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		int r = nl_decode_reply(buf, (size_t)n, req->nlmsg_seq, portid, cb, data);
		if (r < 0) {
			rc = errno ? -errno : -EIO;
			break;
		}
		if (r == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return rc;
}
