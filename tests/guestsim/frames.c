#define _GNU_SOURCE
#include "frames.h"

#include <arpa/inet.h>
#include <string.h>

static uint16_t csum(const void *data, size_t n, uint32_t sum)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void fr_eth(struct frame *f, const uint8_t dst[6], const uint8_t src[6],
	    uint16_t type)
{
	memset(f->b, 0, VNET_HDR);
	memcpy(f->b + VNET_HDR, dst, 6);
	memcpy(f->b + VNET_HDR + 6, src, 6);
	f->b[VNET_HDR + 12] = (uint8_t)(type >> 8);
	f->b[VNET_HDR + 13] = (uint8_t)type;
	f->len = VNET_HDR + 14;
}

static uint32_t pseudo4(uint32_t s, uint32_t d, uint8_t proto, size_t len)
{
	uint32_t sum = 0;
	sum += (ntohl(s) >> 16) + (ntohl(s) & 0xffff);
	sum += (ntohl(d) >> 16) + (ntohl(d) & 0xffff);
	return sum + proto + (uint32_t)len;
}

void fr_udp4(struct frame *f, const uint8_t dmac[6], const uint8_t smac[6],
	     uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
	     const void *data, size_t n)
{
	fr_eth(f, dmac, smac, 0x0800);
	uint8_t *ip = f->b + f->len, *udp = ip + 20;
	size_t ulen = 8 + n;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	uint16_t c = csum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = (uint8_t)(sport >> 8), udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8), udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, data, n);
	c = csum(udp, ulen, pseudo4(saddr, daddr, 17, ulen));
	udp[6] = (uint8_t)(c >> 8), udp[7] = (uint8_t)c;
	f->len += 20 + ulen;
}

void fr_arp(struct frame *f, const uint8_t smac[6], uint16_t op,
	    const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
	    uint32_t tpa)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	fr_eth(f, bcast, smac, 0x0806);
	uint8_t *a = f->b + f->len;
	const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, (uint8_t)op};
	memcpy(a, hdr, 8);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &tpa, 4);
	f->len += 28;
}

void fr_ra(struct frame *f, const uint8_t m[6])
{
	const uint8_t dst[6] = {0x33, 0x33, 0, 0, 0, 1};
	fr_eth(f, dst, m, 0x86dd);
	uint8_t *ip = f->b + f->len, *icmp = ip + 40;
	memset(ip, 0, 40 + 16);
	ip[0] = 0x60;
	ip[5] = 16; /* payload length */
	ip[6] = 58;
	ip[7] = 255;
	ip[8] = 0xfe, ip[9] = 0x80;
	ip[16] = (uint8_t)(m[0] ^ 2), ip[17] = m[1], ip[18] = m[2];
	ip[19] = 0xff, ip[20] = 0xfe;
	ip[21] = m[3], ip[22] = m[4], ip[23] = m[5];
	ip[24] = 0xff, ip[25] = 0x02, ip[39] = 1;
	icmp[0] = 134;
	icmp[4] = 64;	/* hop limit */
	icmp[6] = 0x0e; /* router lifetime 3600 */
	icmp[7] = 0x10;
	uint32_t sum = 16 + 58;
	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	uint16_t c = csum(icmp, 16, sum);
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	f->len += 40 + 16;
}

void fr_dhcp(struct frame *f, const uint8_t mac[6], uint32_t xid, int type,
	     uint32_t req_ip, uint32_t server)
{
	fr_dhcp_as(f, mac, mac, xid, type, req_ip, server);
}

void fr_dhcp_as(struct frame *f, const uint8_t mac[6], const uint8_t chaddr[6],
		uint32_t xid, int type, uint32_t req_ip, uint32_t server)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t d[300] = {0};
	d[0] = 1, d[1] = 1, d[2] = 6;
	memcpy(d + 4, &xid, 4);
	d[10] = 0x80; /* broadcast reply */
	memcpy(d + 28, chaddr, 6);
	const uint8_t cookie[4] = {99, 130, 83, 99};
	memcpy(d + 236, cookie, 4);
	size_t o = 240;
	d[o++] = 53, d[o++] = 1, d[o++] = (uint8_t)type;
	if (req_ip) {
		d[o++] = 50, d[o++] = 4;
		memcpy(d + o, &req_ip, 4);
		o += 4;
	}
	if (server) {
		d[o++] = 54, d[o++] = 4;
		memcpy(d + o, &server, 4);
		o += 4;
	}
	d[o++] = 55, d[o++] = 3, d[o++] = 1, d[o++] = 3, d[o++] = 12;
	d[o++] = 255;
	fr_udp4(f, bcast, mac, 0, 0xffffffff, 68, 67, d, o < 300 ? 300 : o);
}

int fr_dhcp_reply(const uint8_t *p, size_t n, uint32_t xid, uint32_t *yiaddr,
		  uint32_t *server, bool *csum_ok)
{
	if (n < VNET_HDR + 14 + 20 + 8 + 240)
		return 0;
	const uint8_t *eth = p + VNET_HDR, *ip = eth + 14;
	if (eth[12] != 0x08 || eth[13] != 0 || ip[9] != 17)
		return 0;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	const uint8_t *udp = ip + ihl, *d = udp + 8;
	if (udp[2] != 0 || udp[3] != 68 || memcmp(d + 4, &xid, 4))
		return 0;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	uint32_t s, dd;
	memcpy(&s, ip + 12, 4);
	memcpy(&dd, ip + 16, 4);
	/* a partial (offloaded) checksum does not verify: that is the bug
	 * guests without checksum offload see */
	*csum_ok = (udp[6] == 0 && udp[7] == 0) ||
		   csum(udp, ulen, pseudo4(s, dd, 17, ulen)) == 0;
	memcpy(yiaddr, d + 16, 4);
	*server = 0;
	int type = 0;
	for (size_t o = 240; o + 1 < ulen - 8 && d[o] != 255;) {
		if (d[o] == 0) {
			o++;
			continue;
		}
		if (d[o] == 53)
			type = d[o + 2];
		if (d[o] == 54 && d[o + 1] == 4)
			memcpy(server, d + o + 2, 4);
		o += 2 + d[o + 1];
	}
	return type;
}

bool fr_contains(const uint8_t *p, size_t n, const char *m)
{
	return memmem(p, n, m, strlen(m)) != NULL;
}

void fr_lladdr(const uint8_t m[6], uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfe, out[1] = 0x80;
	out[8] = (uint8_t)(m[0] ^ 2), out[9] = m[1], out[10] = m[2];
	out[11] = 0xff, out[12] = 0xfe;
	out[13] = m[3], out[14] = m[4], out[15] = m[5];
}

/* IPv6 header to ff02::1 with the transport checksum at csum_off filled */
static void ip6(struct frame *f, const uint8_t smac[6], const uint8_t src[16],
		uint8_t next, const void *l4, size_t n, size_t csum_off)
{
	const uint8_t dst[6] = {0x33, 0x33, 0, 0, 0, 1};
	fr_eth(f, dst, smac, 0x86dd);
	uint8_t *ip = f->b + f->len, *p = ip + 40;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = (uint8_t)(n >> 8), ip[5] = (uint8_t)n;
	ip[6] = next;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	ip[24] = 0xff, ip[25] = 0x02, ip[39] = 1;
	memcpy(p, l4, n);
	p[csum_off] = p[csum_off + 1] = 0;
	uint32_t sum = (uint32_t)n + next;
	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	uint16_t c = csum(p, n, sum);
	p[csum_off] = (uint8_t)(c >> 8), p[csum_off + 1] = (uint8_t)c;
	f->len += 40 + n;
}

void fr_udp6(struct frame *f, const uint8_t smac[6], const uint8_t src[16],
	     const void *data, size_t n)
{
	uint8_t u[512] = {0x13, 0x88, 0x13, 0x88};
	u[4] = (uint8_t)((8 + n) >> 8), u[5] = (uint8_t)(8 + n);
	memcpy(u + 8, data, n);
	ip6(f, smac, src, 17, u, 8 + n, 6);
}

void fr_na(struct frame *f, const uint8_t smac[6], const uint8_t target[16])
{
	uint8_t src[16], na[32] = {136, 0, 0, 0, 0x20};
	fr_lladdr(smac, src);
	memcpy(na + 8, target, 16);
	na[24] = 2, na[25] = 1; /* target link-layer address option */
	memcpy(na + 26, smac, 6);
	ip6(f, smac, src, 58, na, 32, 2);
}
