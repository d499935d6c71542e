/* Benchmark: port-create with filters for 1,000 ports on one network (per
 * port and total), port-delete, and net-update add of one host on a
 * network with 1,000 hosts; over the socket, netd in a private netns.
 * References (issue 4): libvirt's live host add ~333 ms median on this
 * kind of machine (it rebuilds every firewall rule); TAP creation ~10 ms
 * each is a common complaint. Targets: <= 1 ms per port including
 * filters, <= 5 ms per host update. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../../lib/proto.h"
#include "../common/netd_spawn.h"
#include "benchutil.h"

enum { NPORTS = 1000, NUPD = 50 };

static char sock[512];

int main(void)
{
	char dir[] = "/tmp/nf-bench-XXXXXX", cmd[128];
	static uint64_t t[NPORTS];
	static int keep[NPORTS];
	static char taps[NPORTS][16];
	struct rlimit rl;
	struct nf_err e;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max; /* 1,000 TAP fds held open */
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!mkdtemp(dir))
		return 1;
	pid_t pid = netd_spawn(dir, sock, sizeof(sock));
	if (pid < 0)
		return 1;
	int fd = proto_connect(sock, &e);
	struct nf_buf x = {0};
	nf_buf_printf(&x, "<network><name>ports</name><forward mode='nat'/>"
			  "<bridge name='nfbp' stp='off'/>"
			  "<ip address='10.30.0.1' prefix='16'><dhcp>"
			  "<range start='10.30.200.1' end='10.30.250.254'/>");
	for (int i = 0; i < NPORTS; i++)
		nf_buf_printf(&x,
			      "<host mac='52:54:00:01:%02x:%02x' name='vm%d' "
			      "ip='10.30.%d.%d'/>",
			      i >> 8, i & 255, i, 1 + i / 250, 1 + i % 250);
	nf_buf_printf(&x, "</dhcp></ip></network>");
	json_decref(bench_call(fd, "net-define", json_pack("{s:s}", "xml", x.s),
			       NULL, NULL, NULL));
	nf_buf_free(&x);
	json_decref(bench_call(fd, "net-start",
			       json_pack("{s:s}", "network", "ports"), NULL,
			       NULL, NULL));

	uint64_t t0 = nf_now_ns();
	for (int i = 0; i < NPORTS; i++) {
		char mac[18];
		int fds[PROTO_MAX_FDS];
		size_t nfds = 0;
		snprintf(mac, sizeof(mac), "52:54:00:01:%02x:%02x", i >> 8,
			 i & 255);
		json_t *rep = bench_call(
			fd, "port-create",
			json_pack("{s:s, s:s}", "network", "ports", "mac", mac),
			fds, &nfds, &t[i]);
		keep[i] = nfds ? fds[0] : -1;
		snprintf(taps[i], 16, "%s",
			 json_string_value(json_object_get(
				 json_object_get(rep, "result"), "tap")));
		json_decref(rep);
	}
	double total = (double)(nf_now_ns() - t0) / 1e6;
	printf("ports: %d guarded, pinned ports on one network (TAP + bridge "
	       "attach + nft guard chain + map element), over the socket\n\n",
	       NPORTS);
	printf("%-40s %10s\n", "operation", "ms");
	bench_row("port-create, median per port", bench_median_ms(t, NPORTS),
		  -1);
	bench_row("port-create, the 1,000th port", (double)t[NPORTS - 1] / 1e6,
		  -1);
	bench_row("port-create, all 1,000 (total)", total, -1);

	for (int i = 0; i < NUPD; i++) {
		char h[160];
		snprintf(h, sizeof(h),
			 "<host mac='52:54:00:02:00:%02x' ip='10.30.100.%d'/>",
			 i, i + 1);
		json_decref(
			bench_call(fd, "net-update",
				   json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}",
					     "network", "ports", "command",
					     "add", "section", "ip-dhcp-host",
					     "xml", h, "live", 1, "config", 1),
				   NULL, NULL, &t[i]));
	}
	bench_row("net-update add host (1,000 hosts, live+config)",
		  bench_median_ms(t, NUPD), -1);
	for (int i = 0; i < NUPD; i++) {
		char h[160];
		snprintf(h, sizeof(h),
			 "<host mac='52:54:00:02:00:%02x' ip='10.30.100.%d'/>",
			 i, i + 1);
		json_decref(bench_call(
			fd, "net-update",
			json_pack("{s:s, s:s, s:s, s:s, s:b}", "network",
				  "ports", "command", "delete", "section",
				  "ip-dhcp-host", "xml", h, "live", 1),
			NULL, NULL, &t[i]));
	}
	bench_row("net-update delete host (live)", bench_median_ms(t, NUPD),
		  -1);
	for (int i = 0; i < NUPD; i++) {
		char h[160];
		snprintf(h, sizeof(h),
			 "<host mac='52:54:00:03:00:%02x' ip='10.30.101.%d'/>",
			 i, i + 1);
		json_decref(bench_call(fd, "net-update",
				       json_pack("{s:s, s:s, s:s, s:s}",
						 "network", "ports", "command",
						 "add", "section",
						 "ip-dhcp-host", "xml", h),
				       NULL, NULL, &t[i]));
	}
	bench_row("net-update add host (live: --current)",
		  bench_median_ms(t, NUPD), -1);

	t0 = nf_now_ns();
	for (int i = 0; i < NPORTS; i++) {
		json_decref(bench_call(fd, "port-delete",
				       json_pack("{s:s}", "port", taps[i]),
				       NULL, NULL, &t[i]));
		if (keep[i] >= 0)
			close(keep[i]);
	}
	bench_row("port-delete, median per port", bench_median_ms(t, NPORTS),
		  -1);
	bench_row("port-delete, all 1,000 (total)",
		  (double)(nf_now_ns() - t0) / 1e6, -1);
	printf("\nreferences: libvirt live host add ~333 ms; TAP creation ~10 "
	       "ms "
	       "each is a common complaint; targets <= 1 ms per port, <= 5 ms "
	       "per host update\n");
	close(fd);
	netd_stop(pid);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
