#include "nfaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int nf_addr_parse(const char *s, struct nf_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->v6) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

void nf_addr_format(const struct nf_addr *a, char *out, size_t n)
{
	if (!a->family || !inet_ntop(a->family, a->b, out, (socklen_t)n))
		snprintf(out, n, "?");
}

size_t nf_addr_len(const struct nf_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

int nf_addr_cmp(const struct nf_addr *a, const struct nf_addr *b)
{
	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->b, b->b, nf_addr_len(a));
}

bool nf_addr_in_subnet(const struct nf_addr *a, const struct nf_addr *net,
		       int prefix)
{
	if (a->family != net->family)
		return false;
	struct nf_addr x = nf_addr_network(a, prefix),
		       y = nf_addr_network(net, prefix);
	return !nf_addr_cmp(&x, &y);
}

struct nf_addr nf_addr_network(const struct nf_addr *a, int prefix)
{
	struct nf_addr n = *a;
	for (size_t i = 0; i < nf_addr_len(a); i++) {
		int bits = prefix - (int)i * 8;
		if (bits >= 8)
			continue;
		n.b[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	return n;
}

void nf_addr_subnet_str(const struct nf_addr *a, int prefix, char *out,
			size_t n)
{
	struct nf_addr net = nf_addr_network(a, prefix);
	char s[INET6_ADDRSTRLEN];
	nf_addr_format(&net, s, sizeof(s));
	snprintf(out, n, "%s/%d", s, prefix);
}

bool nf_addr_host_bits_zero(const struct nf_addr *a, int prefix)
{
	struct nf_addr n = nf_addr_network(a, prefix);
	return !nf_addr_cmp(&n, a);
}

uint32_t nf_addr_span(const struct nf_addr *a, const struct nf_addr *b)
{
	/* compare the low 8 bytes; anything wider saturates */
	size_t len = nf_addr_len(a), off = len > 8 ? len - 8 : 0;
	for (size_t i = 0; i < off; i++)
		if (a->b[i] != b->b[i])
			return UINT32_MAX;
	uint64_t x = 0, y = 0;
	for (size_t i = off; i < len; i++) {
		x = x << 8 | a->b[i];
		y = y << 8 | b->b[i];
	}
	if (y < x)
		return 0;
	return y - x >= UINT32_MAX ? UINT32_MAX : (uint32_t)(y - x + 1);
}
