/* IPv4/IPv6 addresses and prefixes, shared by every module. */
#ifndef NFADDR_H
#define NFADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nf_addr {
	int family; /* AF_INET or AF_INET6; 0 when absent */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	};
};

int nf_addr_parse(const char *s, struct nf_addr *a);
void nf_addr_format(const struct nf_addr *a, char *out, size_t n);
size_t nf_addr_len(const struct nf_addr *a); /* 4 or 16 */
int nf_addr_cmp(const struct nf_addr *a, const struct nf_addr *b);
bool nf_addr_in_subnet(const struct nf_addr *a, const struct nf_addr *net,
		       int prefix);
/* a with its host bits cleared */
struct nf_addr nf_addr_network(const struct nf_addr *a, int prefix);
/* "192.168.122.0/24" */
void nf_addr_subnet_str(const struct nf_addr *a, int prefix, char *out,
			size_t n);
bool nf_addr_host_bits_zero(const struct nf_addr *a, int prefix);
/* Number of addresses from a to b inclusive, saturated at UINT32_MAX. */
uint32_t nf_addr_span(const struct nf_addr *a, const struct nf_addr *b);

#endif
