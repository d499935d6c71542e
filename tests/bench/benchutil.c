#define _GNU_SOURCE
#include "benchutil.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../../lib/nf.h"
#include "../../lib/proto.h"

extern char **environ;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double bench_median_ms(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1e6;
}

uint64_t bench_run(char *const argv[])
{
	pid_t pid;
	int st;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
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

void bench_row(const char *what, double ms, double base_ms)
{
	if (base_ms < 0)
		printf("%-40s %10.3f\n", what, ms);
	else if (base_ms == 0)
		printf("%-40s %10.3f %8s\n", what, ms, "1.0");
	else
		printf("%-40s %10.3f %8.1f\n", what, ms, ms / base_ms);
}

json_t *bench_call(int fd, const char *cmd, json_t *args, int *fds,
		   size_t *nfds, uint64_t *ns)
{
	struct nf_err e = {0};
	json_t *rep = NULL;
	uint64_t t0 = nf_now_ns();
	if (proto_call(fd, cmd, args, &rep, fds, nfds, &e) < 0 ||
	    !json_is_true(json_object_get(rep, "ok"))) {
		fprintf(stderr, "bench: %s failed: %s\n", cmd,
			rep ? json_string_value(json_object_get(
				      json_object_get(rep, "error"), "message"))
			    : e.msg);
		exit(1);
	}
	if (ns)
		*ns = nf_now_ns() - t0;
	json_decref(args);
	return rep;
}
