/* Plays a guest on the TAP fd that port-create hands out: a DHCP exchange
 * gets the pinned IP; spoofed frames (foreign MAC, foreign IP, lying ARP,
 * DHCP server reply, router advert, other ethertype) never reach a peer on
 * the bridge while legitimate traffic does; net-update modify of the
 * reservation moves the guest to its new IP and blocks the old one; closing
 * the fd releases the port and its lease.
 * usage: test_ports SOCKET PEER_NETNS PEER_IF */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/proto.h"
#include "frames.h"

static const char *sock;
static int tapn, failed;

static void ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", cond ? "" : "not ", ++tapn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failed += !cond;
}

static json_t *req(const char *cmd, json_t *args, int *fds, size_t *nfds)
{
	struct nf_err e;
	json_t *rep = NULL;
	int s = proto_connect(sock, &e);
	if (s < 0 || proto_call(s, cmd, args, &rep, fds, nfds, &e) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, e.msg);
		exit(2);
	}
	if (s >= 0)
		close(s);
	json_decref(args);
	return rep;
}

static bool req_ok(json_t *rep)
{
	bool r = json_is_true(json_object_get(rep, "ok"));
	if (!r)
		printf("# %s\n",
		       json_string_value(json_object_get(
			       json_object_get(rep, "error"), "message")));
	json_decref(rep);
	return r;
}

/* A packet socket on the peer's interface, opened inside its netns. */
static int peer_socket(const char *netns, const char *ifname)
{
	char path[256];
	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC),
	    other = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || other < 0 || setns(other, CLONE_NEWNET) < 0)
		return -1;
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	struct sockaddr_ll sa = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_ALL),
				 .sll_ifindex = (int)if_nametoindex(ifname)};
	if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		s = -1;
	setns(self, CLONE_NEWNET);
	close(self);
	close(other);
	return s;
}

static void drain(int fd)
{
	uint8_t buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Collects what the peer sees for ms milliseconds. */
static size_t peer_collect(int fd, uint8_t *all, size_t cap, int ms)
{
	size_t len = 0;
	struct pollfd pf = {fd, POLLIN, 0};
	while (poll(&pf, 1, ms) > 0) {
		ssize_t n = recv(fd, all + len, cap - len, 0);
		if (n > 0)
			len += (size_t)n;
		if (len + 2048 > cap)
			break;
	}
	return len;
}

static void send_frame(int tap, const struct frame *f)
{
	if (write(tap, f->b, f->len) != (ssize_t)f->len)
		perror("write to tap");
}

/* DISCOVER/OFFER/REQUEST/ACK; returns the acked address or 0. */
static uint32_t dhcp_as(int tap, const uint8_t mac[6], const uint8_t chaddr[6],
			bool *csum_ok, uint32_t renew_ip, int *nak);

static uint32_t dhcp(int tap, const uint8_t mac[6], bool *csum_ok,
		     uint32_t renew_ip, int *nak)
{
	return dhcp_as(tap, mac, mac, csum_ok, renew_ip, nak);
}

/* The exchange from Ethernet source mac, as client chaddr. */
static uint32_t dhcp_as(int tap, const uint8_t mac[6], const uint8_t chaddr[6],
			bool *csum_ok, uint32_t renew_ip, int *nak)
{
	struct frame f;
	uint8_t buf[4096];
	uint32_t xid, yi = 0, server = 0;
	*nak = 0;
	nf_random_bytes(&xid, sizeof(xid));
	if (renew_ip)
		fr_dhcp_as(&f, mac, chaddr, xid, 3, renew_ip, 0);
	else
		fr_dhcp_as(&f, mac, chaddr, xid, 1, 0, 0);
	send_frame(tap, &f);
	for (int tries = 0; tries < 80; tries++) {
		struct pollfd pf = {tap, POLLIN, 0};
		if (poll(&pf, 1, 100) <= 0) {
			if (tries % 10 == 9) /* resend */
				send_frame(tap, &f);
			continue;
		}
		ssize_t n = read(tap, buf, sizeof(buf));
		if (n <= 0)
			continue;
		bool ck;
		int t = fr_dhcp_reply(buf, (size_t)n, xid, &yi, &server, &ck);
		if (!t)
			continue;
		*csum_ok = ck;
		if (t == 6) {
			*nak = 1;
			return 0;
		}
		if (t == 2) { /* offer: request it */
			fr_dhcp_as(&f, mac, chaddr, xid, 3, yi, server);
			send_frame(tap, &f);
		}
		if (t == 5)
			return yi;
	}
	return 0;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

int main(int argc, char **argv)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 0x13},
		      evil[6] = {0x52, 0x54, 0, 0x66, 0x66, 0x66};
	int fds[PROTO_MAX_FDS];
	size_t nfds = 0;
	struct frame f;
	bool ck = false;
	int nak;
	if (argc != 4) {
		fprintf(stderr,
			"usage: test_ports SOCKET PEER_NETNS PEER_IF\n");
		return 2;
	}
	sock = argv[1];
	int peer = peer_socket(argv[2], argv[3]);
	ok(peer >= 0, "capture on the bridge peer");

	json_t *rep = req("port-create",
			  json_pack("{s:s, s:s}", "network", "default", "mac",
				    "52:54:00:00:00:13"),
			  fds, &nfds);
	json_t *res = json_object_get(rep, "result");
	ok(json_is_true(json_object_get(rep, "ok")) && nfds == 1,
	   "port-create hands over one TAP fd");
	char tapname[32];
	snprintf(tapname, sizeof(tapname), "%s",
		 json_string_value(json_object_get(res, "tap")));
	ok(!strcmp(json_string_value(json_object_get(res, "ip")),
		   "192.168.122.13"),
	   "the port is pinned to the MAC's reservation");
	json_decref(rep);
	int tap = fds[0];
	fcntl(tap, F_SETFL, O_NONBLOCK);

	uint32_t got = dhcp(tap, mac, &ck, 0, &nak);
	ok(got == ip4("192.168.122.13"),
	   "DHCP through the TAP gets 192.168.122.13");
	ok(ck, "the DHCP reply's UDP checksum is complete");

	drain(peer);
	const char *legit = "LEGIT-TRAFFIC";
	fr_udp4(&f, bcast, mac, ip4("192.168.122.13"), 0xffffffff, 5000, 5000,
		legit, strlen(legit));
	send_frame(tap, &f);
	fr_arp(&f, mac, 1, mac, ip4("192.168.122.13"), bcast,
	       ip4("192.168.122.1"));
	send_frame(tap, &f);
	/* the spoofs */
	const char *m1 = "SPOOF-MAC", *m2 = "SPOOF-IP", *m3 = "SPOOF-DHCPD",
		   *m4 = "SPOOF-ETHERTYPE";
	fr_udp4(&f, bcast, evil, ip4("192.168.122.13"), 0xffffffff, 5000, 5000,
		m1, strlen(m1));
	send_frame(tap, &f);
	fr_udp4(&f, bcast, mac, ip4("192.168.122.99"), 0xffffffff, 5000, 5000,
		m2, strlen(m2));
	send_frame(tap, &f);
	fr_udp4(&f, bcast, mac, ip4("192.168.122.13"), 0xffffffff, 67, 68, m3,
		strlen(m3));
	send_frame(tap, &f);
	fr_arp(&f, mac, 2, mac, ip4("192.168.122.1"), bcast,
	       ip4("192.168.122.1")); /* "the gateway is at me" */
	send_frame(tap, &f);
	fr_ra(&f, mac);
	send_frame(tap, &f);
	fr_eth(&f, bcast, mac, 0x88b5);
	memcpy(f.b + f.len, m4, strlen(m4));
	f.len += strlen(m4) + 30;
	send_frame(tap, &f);
	/* IPv6: from the link-local passes; from another address, and a
	 * neighbour advert for another address, do not */
	uint8_t ll[16], other[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				     0,	   0, 0, 0, 0, 0, 0, 0x99};
	const char *m5 = "IPV6-LINKLOCAL", *m6 = "SPOOF-IPV6-SOURCE";
	fr_lladdr(mac, ll);
	fr_udp6(&f, mac, ll, m5, strlen(m5));
	send_frame(tap, &f);
	fr_udp6(&f, mac, other, m6, strlen(m6));
	send_frame(tap, &f);
	fr_na(&f, mac, other);
	send_frame(tap, &f);

	static uint8_t seen[1 << 20];
	size_t n = peer_collect(peer, seen, sizeof(seen), 400);
	ok(fr_contains(seen, n, legit), "legitimate traffic reaches the peer");
	uint8_t arp_req[10];
	uint32_t me = ip4("192.168.122.13"), gw = ip4("192.168.122.1");
	memcpy(arp_req, mac, 6);
	memcpy(arp_req + 6, &me, 4);
	ok(memmem(seen, n, arp_req, 10) != NULL,
	   "an honest ARP request reaches the peer");
	ok(!fr_contains(seen, n, m1), "a foreign source MAC is dropped");
	ok(!fr_contains(seen, n, m2), "a foreign source IP is dropped");
	ok(!fr_contains(seen, n, m3),
	   "a DHCP server reply from the guest is dropped");
	uint8_t lie[10];
	memcpy(lie, mac, 6);
	memcpy(lie + 6, &gw, 4);
	ok(memmem(seen, n, lie, 10) == NULL,
	   "an ARP reply claiming the gateway's IP is dropped");
	const uint8_t ra_sig[2] = {134, 0};
	bool ra = false;
	for (size_t i = 0; i + 2 <= n; i++)
		ra = ra || (!memcmp(seen + i, ra_sig, 2) && i >= 40 &&
			    seen[i - 34] == 58);
	ok(!ra, "a router advertisement from the guest is dropped");
	ok(!fr_contains(seen, n, m4), "another ethertype is dropped");
	ok(fr_contains(seen, n, m5), "IPv6 from the guest's link-local passes");
	ok(!fr_contains(seen, n, m6), "IPv6 from a foreign source is dropped");
	const uint8_t na_sig[1] = {136};
	bool na = false;
	for (size_t i = 0; i + 24 <= n; i++) /* an NA carrying that target */
		na = na ||
		     (seen[i] == na_sig[0] && !memcmp(seen + i + 8, other, 16));
	ok(!na, "a neighbour advert for someone else's address is dropped");

	/* live net-update: the reservation moves; the guest follows */
	rep = req("net-update",
		  json_pack("{s:s, s:s, s:s, s:s, s:b}", "network", "default",
			    "command", "modify", "section", "ip-dhcp-host",
			    "xml",
			    "<host mac='52:54:00:00:00:13' name='vm3' "
			    "ip='192.168.122.113'/>",
			    "live", 1),
		  NULL, NULL);
	ok(req_ok(rep), "net-update modify ip-dhcp-host --live");
	/* dnsmasq re-reads its hostsfile on its next turn after SIGHUP; a
	 * real guest renews minutes later */
	usleep(200000);
	got = dhcp(tap, mac, &ck, ip4("192.168.122.13"), &nak);
	ok(nak, "renewing the old address is refused (NAK)");
	got = dhcp(tap, mac, &ck, 0, &nak);
	ok(got == ip4("192.168.122.113"),
	   "a new DHCP exchange gets 192.168.122.113 (got %s)",
	   inet_ntoa((struct in_addr){got}));
	drain(peer);
	const char *mo = "OLD-ADDRESS", *mn = "NEW-ADDRESS";
	fr_udp4(&f, bcast, mac, ip4("192.168.122.13"), 0xffffffff, 5000, 5000,
		mo, strlen(mo));
	send_frame(tap, &f);
	fr_udp4(&f, bcast, mac, ip4("192.168.122.113"), 0xffffffff, 5000, 5000,
		mn, strlen(mn));
	send_frame(tap, &f);
	n = peer_collect(peer, seen, sizeof(seen), 300);
	ok(fr_contains(seen, n, mn), "traffic from the new address passes");
	ok(!fr_contains(seen, n, mo),
	   "traffic from the old address is blocked");

	/* a guest of the range asking under a MAC it does not have: dnsmasq
	 * leases an address to that chaddr, which binds nothing to the
	 * guest's port (the guard goes by the frame's source MAC); its own
	 * lease does */
	const uint8_t rmac[6] = {0x52, 0x54, 0, 0x77, 0x77, 0x01},
		      fake[6] = {0x52, 0x54, 0, 0x77, 0x77, 0xfe};
	nfds = 0;
	rep = req("port-create",
		  json_pack("{s:s, s:s}", "network", "default", "mac",
			    "52:54:00:77:77:01"),
		  fds, &nfds);
	ok(json_is_true(json_object_get(rep, "ok")) && nfds == 1,
	   "port-create for a MAC with no reservation (the range's)");
	char rtapname[32];
	snprintf(rtapname, sizeof(rtapname), "%s",
		 json_string_value(
			 json_object_get(json_object_get(rep, "result"), "tap"))
			 ?: "");
	json_decref(rep);
	int rtap = nfds == 1 ? fds[0] : -1;
	fcntl(rtap, F_SETFL, O_NONBLOCK);
	uint32_t faked = dhcp_as(rtap, rmac, fake, &ck, 0, &nak);
	rep = req("net-dhcp-leases",
		  json_pack("{s:s, s:s}", "network", "default", "mac",
			    "52:54:00:77:77:fe"),
		  NULL, NULL);
	json_t *fl = json_array_get(json_object_get(rep, "result"), 0);
	ok(faked && fl &&
		   !strcmp(json_string_value(json_object_get(fl, "ip")) ?: "",
			   inet_ntoa((struct in_addr){faked})),
	   "dnsmasq leased %s to the made-up chaddr",
	   inet_ntoa((struct in_addr){faked}));
	json_decref(rep);
	uint32_t own = dhcp(rtap, rmac, &ck, 0, &nak);
	ok(own && own != faked, "...and %s to the guest's own MAC",
	   inet_ntoa((struct in_addr){own}));
	/* the guard follows dnsmasq's lease file, read when its log tells
	 * of the ACK: port-info says when the port is bound */
	char owns[32], leased[32] = "";
	snprintf(owns, sizeof(owns), "%s", inet_ntoa((struct in_addr){own}));
	for (int i = 0; i < 100 && strcmp(leased, owns); i++) {
		rep = req("port-info", json_pack("{s:s}", "port", rtapname),
			  NULL, NULL);
		snprintf(leased, sizeof(leased), "%s",
			 json_string_value(json_object_get(
				 json_object_get(rep, "result"), "leased"))
				 ?: "");
		json_decref(rep);
		if (strcmp(leased, owns))
			usleep(10000);
	}
	ok(!strcmp(leased, owns),
	   "port-info: the port is bound to its own lease (leased %s)", leased);
	drain(peer);
	const char *mf = "FROM-FAKED-LEASE", *mw = "FROM-OWN-LEASE";
	fr_udp4(&f, bcast, rmac, faked, 0xffffffff, 5000, 5000, mf, strlen(mf));
	send_frame(rtap, &f);
	fr_udp4(&f, bcast, rmac, own, 0xffffffff, 5000, 5000, mw, strlen(mw));
	send_frame(rtap, &f);
	n = peer_collect(peer, seen, sizeof(seen), 300);
	ok(fr_contains(seen, n, mw), "traffic from its own lease passes");
	ok(!fr_contains(seen, n, mf),
	   "traffic from the address leased to the made-up MAC is dropped");
	close(rtap);

	/* closing the fd releases the port */
	close(tap);
	bool gone = false, lease_gone = false;
	for (int i = 0; i < 100 && !(gone && lease_gone); i++) {
		usleep(20000);
		/* the peer's veth is a (foreign) port of the network too */
		rep = req("port-info", json_pack("{s:s}", "port", tapname),
			  NULL, NULL);
		gone = !json_is_true(json_object_get(rep, "ok"));
		json_decref(rep);
		rep = req("net-dhcp-leases",
			  json_pack("{s:s, s:s}", "network", "default", "mac",
				    "52:54:00:00:00:13"),
			  NULL, NULL);
		lease_gone =
			json_array_size(json_object_get(rep, "result")) == 0;
		json_decref(rep);
	}
	ok(gone, "closing the fd releases the port");
	ok(lease_gone, "...and its lease (the address is free at once)");
	ok(if_nametoindex(tapname) == 0, "...and the TAP is gone");
	printf("1..%d\n", tapn);
	return failed != 0;
}
