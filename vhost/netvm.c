/* netvm: the in-tree KVM guest runner. This first stage boots ELF kernels
 * through their PVH entry with a serial console; virtio-net on netd's
 * ports comes next (issue 5). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: netvm run --kernel PATH [--cmdline STR] "
		   "[--mem SIZE] [--console stdio|file:PATH|none]\n"
		   "  SIZE takes K, M or G (default 64M)\n"
		   "exit status: 0 power-off, 2 reset, 3 triple fault, "
		   "1 error\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"cmdline", required_argument, NULL, 'c'},
		{"mem", required_argument, NULL, 'm'},
		{"console", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	const char *kernel = NULL, *cmdline = "", *console = "stdio";
	size_t mem = 64u << 20;
	struct nf_err e = {0};
	struct vm vm;
	int c;

	nf_log_init("netvm", false, NF_LOG_INFO);
	if (argc < 2 || strcmp(argv[1], "run")) {
		usage(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 1;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kernel = optarg; break;
		case 'c': cmdline = optarg; break;
		case 'C': console = optarg; break;
		case 'm':
			if (parse_size(optarg, &mem) < 0) {
				fprintf(stderr,
					"netvm: --mem '%s' is not a "
					"size like 64M\n",
					optarg);
				return 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!kernel) {
		fprintf(stderr, "netvm: --kernel is required\n");
		usage(stderr);
		return 1;
	}
	if (vm_create(&vm, mem, &e) < 0 ||
	    vm_load_pvh(&vm, kernel, cmdline, &e) < 0) {
		fprintf(stderr, "netvm: %s\n", e.msg);
		vm_destroy(&vm);
		return 1;
	}
	if (!strcmp(console, "stdio")) {
		vm.console = stdout;
	} else if (!strncmp(console, "file:", 5)) {
		vm.console = fopen(console + 5, "w");
		if (!vm.console) {
			fprintf(stderr, "netvm: cannot open %s: %s\n",
				console + 5, strerror(errno));
			vm_destroy(&vm);
			return 1;
		}
	} else if (strcmp(console, "none")) {
		fprintf(stderr, "netvm: --console takes stdio, file:PATH or "
				"none\n");
		vm_destroy(&vm);
		return 1;
	}
	enum vm_exit how = vm_run(&vm, &e);
	if (vm.console)
		fflush(vm.console);
	if (vm.console && vm.console != stdout)
		fclose(vm.console);
	vm_destroy(&vm);
	switch (how) {
	case VM_POWEROFF: return 0;
	case VM_RESET: return 2;
	case VM_SHUTDOWN: fprintf(stderr, "netvm: %s\n", e.msg); return 3;
	default: fprintf(stderr, "netvm: %s\n", e.msg); return 1;
	}
}
