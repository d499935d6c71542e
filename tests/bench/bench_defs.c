/* Benchmark: define, dumpxml and list with 1,000 networks defined.
 * Prints medians per operation, over the socket (netd's own cost) and from
 * the netctl command line (what a user waits for), each with its ratio to a
 * no-op baseline (`version`) measured in the same run. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/proto.h"
#include "../common/netd_spawn.h"
#include "benchutil.h"

#define NNETS 1000

static char sock[512];

static char *net_xml(int i)
{
	char *x;
	if (asprintf(&x,
		     "<network><name>bench%d</name><forward mode='nat'/>"
		     "<ip address='10.%d.%d.1' prefix='24'><dhcp><range "
		     "start='10.%d.%d.10' end='10.%d.%d.200'/><host "
		     "mac='52:54:00:00:%02x:%02x' ip='10.%d.%d.5'/></dhcp>"
		     "</ip></network>",
		     i, 64 + i / 256, i % 256, 64 + i / 256, i % 256,
		     64 + i / 256, i % 256, (i >> 8) & 0xff, i & 0xff,
		     64 + i / 256, i % 256) < 0)
		abort();
	return x;
}

static uint64_t sock_op(int fd, const char *cmd, json_t *args)
{
	uint64_t dt;
	json_decref(bench_call(fd, cmd, args, NULL, NULL, &dt));
	return dt;
}

int main(void)
{
	char dir[] = "/tmp/nf-bench-XXXXXX", netctl[512], file[600];
	const char *b = getenv("NF_BUILD");
	struct nf_err e;
	enum { N = 200 };
	static uint64_t t[N];

	if (!mkdtemp(dir))
		return 1;
	pid_t pid = netd_spawn(dir, sock, sizeof(sock));
	if (pid < 0)
		return 1;
	int fd = proto_connect(sock, &e);
	uint64_t t0 = nf_now_ns();
	for (int i = 0; i < NNETS; i++) {
		char *x = net_xml(i);
		sock_op(fd, "net-define", json_pack("{s:s}", "xml", x));
		free(x);
	}
	printf("netd definition store, %d networks defined (first define "
	       "of all: %.1f ms total)\n\n",
	       NNETS, (double)(nf_now_ns() - t0) / 1e6);

	printf("%-40s %10s %8s\n", "operation (socket)", "median ms", "ratio");
	for (int i = 0; i < N; i++)
		t[i] = sock_op(fd, "version", NULL);
	double base = bench_median_ms(t, N);
	bench_row("version (baseline round trip)", base, 0);
	for (int i = 0; i < N; i++) {
		char *x = net_xml(i * 5 % NNETS);
		t[i] = sock_op(fd, "net-define", json_pack("{s:s}", "xml", x));
		free(x);
	}
	double m = bench_median_ms(t, N);
	bench_row("net-define (redefine)", m, base);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bench%d", i * 5 % NNETS);
		t[i] = sock_op(fd, "net-dumpxml",
			       json_pack("{s:s}", "network", name));
	}
	m = bench_median_ms(t, N);
	bench_row("net-dumpxml", m, base);
	for (int i = 0; i < N; i++)
		t[i] = sock_op(fd, "net-list", NULL);
	m = bench_median_ms(t, N);
	bench_row("net-list (1,000 entries)", m, base);
	close(fd);

	snprintf(netctl, sizeof(netctl), "%s/netctl", b ? b : "build");
	setenv("NETD_SOCKET", sock, 1);
	printf("\n%-40s %10s %8s\n", "operation (netctl command line)",
	       "median ms", "ratio");
	enum { M = 60 };
	char *ver[] = {netctl, "--socket", sock, "version", NULL};
	for (int i = 0; i < M; i++)
		t[i] = bench_run(ver);
	base = bench_median_ms(t, M);
	bench_row("netctl version (baseline)", base, 0);
	snprintf(file, sizeof(file), "%s/one.xml", dir);
	char *x = net_xml(7);
	nf_write_file_atomic(file, x, strlen(x), 0644, NF_DURABLE, &e);
	free(x);
	char *def[] = {netctl, "--socket", sock, "net-define", file, NULL};
	for (int i = 0; i < M; i++)
		t[i] = bench_run(def);
	m = bench_median_ms(t, M);
	bench_row("netctl net-define", m, base);
	char *dump[] = {netctl,	       "--socket", sock,
			"net-dumpxml", "bench7",   NULL};
	for (int i = 0; i < M; i++)
		t[i] = bench_run(dump);
	m = bench_median_ms(t, M);
	bench_row("netctl net-dumpxml", m, base);
	char *list[] = {netctl, "--socket", sock, "net-list", "--all", NULL};
	for (int i = 0; i < M; i++)
		t[i] = bench_run(list);
	m = bench_median_ms(t, M);
	bench_row("netctl net-list --all", m, base);

	netd_stop(pid);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
