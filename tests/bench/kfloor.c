/* The kernel's own cost of what netd does for a port, measured in a
 * private network namespace with nothing but the system calls (no netd,
 * no files, no nft): the floor a benchmark compares netd's figure with,
 * in the same run. */
#define _GNU_SOURCE
#include "kfloor.h"

#include <fcntl.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/nf.h"

struct req {
	struct nlmsghdr h;
	struct ifinfomsg i;
	char attrs[64];
};

static void attr_u32(struct req *r, int type, uint32_t v)
{
	struct rtattr *a =
		(struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
	a->rta_type = (unsigned short)type;
	a->rta_len = RTA_LENGTH(sizeof(v));
	memcpy(RTA_DATA(a), &v, sizeof(v));
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* One RTM_ message and its ack; 0 or -errno. */
static int rtnl(int sk, int type, int flags, int idx, unsigned up, int master,
		int group)
{
	struct req r = {
		.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		      .nlmsg_type = (unsigned short)type,
		      .nlmsg_flags = (unsigned short)(NLM_F_REQUEST |
						      NLM_F_ACK | flags)},
		.i = {.ifi_family = AF_UNSPEC,
		      .ifi_index = idx,
		      .ifi_flags = up,
		      .ifi_change = up}};
	if (master)
		attr_u32(&r, IFLA_MASTER, (uint32_t)master);
	if (group >= 0)
		attr_u32(&r, IFLA_GROUP, (uint32_t)group);
	if (send(sk, &r, r.h.nlmsg_len, 0) < 0)
		return -1;
	char buf[4096];
	ssize_t n = recv(sk, buf, sizeof(buf), 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
	    h->nlmsg_type != NLMSG_ERROR)
		return -1;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static int tap_open(const char *name)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -1;
	return fd;
}

static void no_ipv6(const char *name)
{
	char p[96];
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, "1", 1) < 0)
		perror(p);
	if (fd >= 0)
		close(fd);
}

static int child(size_t n, bool ipv6_off, uint64_t *create, uint64_t *del,
		 uint64_t *batch)
{
	int *fds = calloc(n, sizeof(int)), sk;
	if (!fds || unshare(CLONE_NEWNET) < 0 ||
	    (sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) <
		    0 ||
	    system("ip link add kfbr type bridge stp_state 0 && "
		   "ip link set kfbr up"))
		return 1;
	int br = (int)if_nametoindex("kfbr");
	/* each TAP: made, IPv6 off (or not), up and attached; the TAP's
	 * fd closed one at a time is a port-delete */
	for (size_t i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "kf%u", (unsigned)i % 100000);
		uint64_t t0 = nf_now_ns();
		if ((fds[i] = tap_open(name)) < 0)
			return 1;
		if (ipv6_off)
			no_ipv6(name);
		if (rtnl(sk, RTM_NEWLINK, 0, (int)if_nametoindex(name), IFF_UP,
			 br, -1) < 0)
			return 1;
		create[i] = nf_now_ns() - t0;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = nf_now_ns();
		close(fds[i]);
		del[i] = nf_now_ns() - t0;
	}
	/* the same ports made persistent in one link group, then deleted
	 * in one RTM_DELLINK */
	for (size_t i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "kg%u", (unsigned)i % 100000);
		int fd = tap_open(name);
		if (fd < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0 ||
		    rtnl(sk, RTM_NEWLINK, 0, (int)if_nametoindex(name), IFF_UP,
			 br, KFLOOR_GROUP) < 0)
			return 1;
		close(fd);
	}
	uint64_t t0 = nf_now_ns();
	if (rtnl(sk, RTM_DELLINK, 0, 0, 0, 0, KFLOOR_GROUP) < 0)
		return 1;
	*batch = nf_now_ns() - t0;
	return 0;
}

int kfloor_ports(size_t n, bool ipv6_off, uint64_t *create, uint64_t *del,
		 uint64_t *batch)
{
	/* shared with the child: it has its own namespace */
	size_t sz = (2 * n + 1) * sizeof(uint64_t);
	uint64_t *m = mmap(NULL, sz, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(child(n, ipv6_off, m, m + n, m + 2 * n));
	int st;
	waitpid(pid, &st, 0);
	memcpy(create, m, n * sizeof(uint64_t));
	memcpy(del, m + n, n * sizeof(uint64_t));
	*batch = m[2 * n];
	munmap(m, sz);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}
