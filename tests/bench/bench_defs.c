/* Benchmark: define, dumpxml and list with 1,000 networks defined.
 * Prints medians per operation, over the socket (netd's own cost) and from
 * the netctl command line (what a user waits for), each with its ratio to a
 * no-op baseline (`version`) measured in the same run. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../netd/proto.h"
#include "../common/netd_spawn.h"

#define NNETS 1000

extern char **environ;
static char sock[512];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1e6;
}

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
	struct nf_err e;
	json_t *rep;
	uint64_t t0 = nf_now_ns();
	if (proto_call(fd, cmd, args, &rep, NULL, NULL, &e) < 0 ||
	    !json_is_true(json_object_get(rep, "ok"))) {
		fprintf(stderr, "bench: %s failed\n", cmd);
		exit(1);
	}
	uint64_t dt = nf_now_ns() - t0;
	json_decref(rep);
	json_decref(args);
	return dt;
}

static uint64_t cli_op(char *const argv[])
{
	pid_t pid;
	int st;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	uint64_t t0 = nf_now_ns();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		exit(1);
	waitpid(pid, &st, 0);
	uint64_t dt = nf_now_ns() - t0;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench: %s %s failed\n", argv[0], argv[3]);
		exit(1);
	}
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

	printf("%-34s %10s %8s\n", "operation (socket)", "median ms", "ratio");
	for (int i = 0; i < N; i++)
		t[i] = sock_op(fd, "version", NULL);
	double base = median_ms(t, N);
	printf("%-34s %10.3f %8s\n", "version (baseline round trip)", base,
	       "1.0");
	for (int i = 0; i < N; i++) {
		char *x = net_xml(i * 5 % NNETS);
		t[i] = sock_op(fd, "net-define", json_pack("{s:s}", "xml", x));
		free(x);
	}
	double m = median_ms(t, N);
	printf("%-34s %10.3f %8.1f\n", "net-define (redefine)", m, m / base);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bench%d", i * 5 % NNETS);
		t[i] = sock_op(fd, "net-dumpxml",
			       json_pack("{s:s}", "network", name));
	}
	m = median_ms(t, N);
	printf("%-34s %10.3f %8.1f\n", "net-dumpxml", m, m / base);
	for (int i = 0; i < N; i++)
		t[i] = sock_op(fd, "net-list", NULL);
	m = median_ms(t, N);
	printf("%-34s %10.3f %8.1f\n", "net-list (1,000 entries)", m, m / base);
	close(fd);

	snprintf(netctl, sizeof(netctl), "%s/netctl", b ? b : "build");
	setenv("NETD_SOCKET", sock, 1);
	printf("\n%-34s %10s %8s\n", "operation (netctl command line)",
	       "median ms", "ratio");
	enum { M = 60 };
	char *ver[] = {netctl, "--socket", sock, "version", NULL};
	for (int i = 0; i < M; i++)
		t[i] = cli_op(ver);
	base = median_ms(t, M);
	printf("%-34s %10.3f %8s\n", "netctl version (baseline)", base, "1.0");
	snprintf(file, sizeof(file), "%s/one.xml", dir);
	char *x = net_xml(7);
	nf_write_file_atomic(file, x, strlen(x), 0644, &e);
	free(x);
	char *def[] = {netctl, "--socket", sock, "net-define", file, NULL};
	for (int i = 0; i < M; i++)
		t[i] = cli_op(def);
	m = median_ms(t, M);
	printf("%-34s %10.3f %8.1f\n", "netctl net-define", m, m / base);
	char *dump[] = {netctl,	       "--socket", sock,
			"net-dumpxml", "bench7",   NULL};
	for (int i = 0; i < M; i++)
		t[i] = cli_op(dump);
	m = median_ms(t, M);
	printf("%-34s %10.3f %8.1f\n", "netctl net-dumpxml", m, m / base);
	char *list[] = {netctl, "--socket", sock, "net-list", "--all", NULL};
	for (int i = 0; i < M; i++)
		t[i] = cli_op(list);
	m = median_ms(t, M);
	printf("%-34s %10.3f %8.1f\n", "netctl net-list --all", m, m / base);

	netd_stop(pid);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
