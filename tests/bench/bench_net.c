/* Benchmark: net-start and net-destroy from the netctl command line, for a
 * NAT network with 5 reservations (examples/default.xml) and one with 1,000,
 * in a private network namespace. Reference (issue 3): libvirt 9.0 on this
 * kind of machine, iptables backend: start 75-91 ms, destroy ~300 ms. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/nf.h"
#include "../common/netd_spawn.h"
#include "benchutil.h"

enum { RUNS = 25 };

static char netctl[512], sock[512];

static void write_network(const char *path, const char *name, int hosts)
{
	struct nf_buf b = {0};
	struct nf_err e;
	nf_buf_printf(&b,
		      "<network><name>%s</name><forward mode='nat'/>"
		      "<bridge name='nfb-%s' stp='off'/>"
		      "<domain name='bench.test'/>"
		      "<ip address='10.%d.0.1' prefix='16'><dhcp>"
		      "<range start='10.%d.200.1' end='10.%d.250.254'/>",
		      name, name, hosts > 5 ? 21 : 20, hosts > 5 ? 21 : 20,
		      hosts > 5 ? 21 : 20);
	for (int i = 0; i < hosts; i++)
		nf_buf_printf(&b,
			      "<host mac='52:54:00:%02x:%02x:%02x' "
			      "name='vm%d' ip='10.%d.%d.%d'/>",
			      (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, i,
			      hosts > 5 ? 21 : 20, 1 + i / 250, 1 + i % 250);
	nf_buf_printf(&b, "</dhcp></ip></network>");
	if (nf_write_file_atomic(path, b.s, b.len, 0644, NF_DURABLE, &e) < 0) {
		fprintf(stderr, "bench: %s\n", e.msg);
		exit(1);
	}
	nf_buf_free(&b);
}

static void ctl(const char *cmd, const char *arg, uint64_t *t)
{
	char *argv[] = {netctl,	     "--socket",  sock,
			(char *)cmd, (char *)arg, NULL};
	uint64_t dt = bench_run(argv);
	if (t)
		*t = dt;
}

static void cycle(const char *label, const char *name)
{
	uint64_t start[RUNS], stop[RUNS];
	char what[128];
	for (int i = 0; i < RUNS; i++) {
		ctl("net-start", name, &start[i]);
		ctl("net-destroy", name, &stop[i]);
	}
	snprintf(what, sizeof(what), "net-start   %s", label);
	bench_row(what, bench_median_ms(start, RUNS), -1);
	snprintf(what, sizeof(what), "net-destroy %s", label);
	bench_row(what, bench_median_ms(stop, RUNS), -1);
}

int main(void)
{
	char dir[] = "/tmp/nf-bench-XXXXXX", f5[600], f1000[600], cmd[128];
	const char *b = getenv("NF_BUILD");
	if (!mkdtemp(dir))
		return 1;
	pid_t pid = netd_spawn(dir, sock, sizeof(sock));
	if (pid < 0) {
		fprintf(stderr, "bench: netd did not start\n");
		return 1;
	}
	snprintf(netctl, sizeof(netctl), "%s/netctl", b ? b : "build");
	snprintf(f5, sizeof(f5), "%s/five.xml", dir);
	snprintf(f1000, sizeof(f1000), "%s/thousand.xml", dir);
	write_network(f5, "five", 5);
	write_network(f1000, "thousand", 1000);
	ctl("net-define", f5, NULL);
	ctl("net-define", f1000, NULL);

	uint64_t t[RUNS];
	for (int i = 0; i < RUNS; i++) {
		char *argv[] = {netctl, "--socket", sock, "version", NULL};
		t[i] = bench_run(argv);
	}
	printf("network activation, netctl command line, median of %d "
	       "(bridge + nft batch + dnsmasq up; private netns)\n\n",
	       RUNS);
	printf("%-40s %10s\n", "operation", "median ms");
	bench_row("netctl version (round-trip baseline)",
		  bench_median_ms(t, RUNS), -1);
	cycle("NAT, 5 reservations", "five");
	cycle("NAT, 1,000 reservations", "thousand");
	printf("\nreference: libvirt 9.0 (iptables) start 75-91 ms, destroy "
	       "~300 ms; target here <= 15 ms each\n");
	netd_stop(pid);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
