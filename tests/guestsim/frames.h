/* Building and parsing raw Ethernet frames for tests that play a guest
 * on a TAP fd: ARP, IPv4/UDP with DHCP, IPv6/ICMPv6. */
#ifndef FRAMES_H
#define FRAMES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR 12 /* every TAP frame starts with a virtio-net header */

struct frame {
	uint8_t b[2048];
	size_t len;
};

void fr_eth(struct frame *f, const uint8_t dst[6], const uint8_t src[6],
	    uint16_t type);
/* IPv4 + UDP with payload; checksums filled (IP and UDP). */
void fr_udp4(struct frame *f, const uint8_t dmac[6], const uint8_t smac[6],
	     uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
	     const void *data, size_t n);
void fr_arp(struct frame *f, const uint8_t smac[6], uint16_t op,
	    const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
	    uint32_t tpa);
/* A router advertisement from the MAC's link-local address. */
void fr_ra(struct frame *f, const uint8_t smac[6]);
/* The EUI-64 link-local address of a MAC. */
void fr_lladdr(const uint8_t mac[6], uint8_t out[16]);
/* IPv6 + UDP to ff02::1 from src, carrying the payload. */
void fr_udp6(struct frame *f, const uint8_t smac[6], const uint8_t src[16],
	     const void *data, size_t n);
/* A neighbour advertisement from the MAC's link-local for `target`. */
void fr_na(struct frame *f, const uint8_t smac[6], const uint8_t target[16]);
/* DHCP message (op 1 request) of `type` (1 discover, 3 request);
 * req_ip/server 0 to leave out. */
void fr_dhcp(struct frame *f, const uint8_t mac[6], uint32_t xid, int type,
	     uint32_t req_ip, uint32_t server);
/* The same from Ethernet source mac for client hardware address chaddr
 * (a guest asking under a MAC it does not have). */
void fr_dhcp_as(struct frame *f, const uint8_t mac[6], const uint8_t chaddr[6],
		uint32_t xid, int type, uint32_t req_ip, uint32_t server);
/* Parses a DHCP reply for xid: returns its message type (2 offer, 5 ack,
 * 6 nak) or 0, with yiaddr and server id; *csum_ok tells whether the UDP
 * checksum verified. */
int fr_dhcp_reply(const uint8_t *p, size_t n, uint32_t xid, uint32_t *yiaddr,
		  uint32_t *server, bool *csum_ok);
bool fr_contains(const uint8_t *p, size_t n, const char *marker);
#endif
