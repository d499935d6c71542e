/* Holds a guest port of netd's and counts the unicast frames the bridge
 * sends it, by destination MAC: what a guest would receive. For the
 * macTableManager test (is a frame for an unknown MAC flooded to it?).
 * usage: tapsink SOCKET NETWORK MAC MILLISECONDS
 * Prints "ready TAP" once the port is up, then "MAC COUNT" lines. */
#define _GNU_SOURCE
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/nf.h"
#include "../../lib/proto.h"

#define MAX_DSTS 64

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tapsink SOCKET NETWORK MAC MS\n");
		return 64;
	}
	struct nf_err e;
	json_t *rep = NULL;
	int fds[8];
	size_t nfds = 8;
	int s = proto_connect(argv[1], &e);
	if (s < 0 ||
	    proto_call(
		    s, "port-create",
		    json_pack("{s:s, s:s}", "network", argv[2], "mac", argv[3]),
		    &rep, fds, &nfds, &e) < 0 ||
	    !json_is_true(json_object_get(rep, "ok")) || nfds < 1) {
		fprintf(stderr, "tapsink: port-create: %s\n",
			s < 0 ? e.msg : "refused");
		return 1;
	}
	printf("ready %s\n", json_string_value(json_object_get(
				     json_object_get(rep, "result"), "tap")));
	fflush(stdout);
	/* netd's TAPs carry a virtio-net header before each frame */
	struct ifreq ifr = {0};
	int hdr = 0;
	if (ioctl(fds[0], TUNGETIFF, &ifr) == 0 &&
	    (ifr.ifr_flags & IFF_VNET_HDR) &&
	    ioctl(fds[0], TUNGETVNETHDRSZ, &hdr) < 0)
		hdr = 10;
	uint8_t dst[MAX_DSTS][6], raw[2048], *buf;
	unsigned count[MAX_DSTS] = {0}, ndst = 0;
	uint64_t end = nf_now_ns() + strtoull(argv[4], NULL, 10) * 1000000ull;
	for (uint64_t now; (now = nf_now_ns()) < end;) {
		struct pollfd pf = {fds[0], POLLIN, 0};
		if (poll(&pf, 1, (int)((end - now) / 1000000 + 1)) <= 0)
			continue;
		ssize_t n = read(fds[0], raw, sizeof(raw)) - hdr;
		buf = raw + hdr;
		if (n < 14 || (buf[0] & 1))
			continue; /* multicast and broadcast go everywhere */
		unsigned i = 0;
		while (i < ndst && memcmp(dst[i], buf, 6))
			i++;
		if (i == ndst && ndst < MAX_DSTS)
			memcpy(dst[ndst++], buf, 6);
		if (i < MAX_DSTS)
			count[i]++;
	}
	for (unsigned i = 0; i < ndst; i++) {
		char m[18];
		nf_mac_format(dst[i], m);
		printf("%s %u\n", m, count[i]);
	}
	json_decref(rep);
	close(s);
	return 0;
}
