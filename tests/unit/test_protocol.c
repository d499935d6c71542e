/* Runs a real netd in temp dirs and talks to it over its socket: malformed
 * frames, fds riding along, and 100 concurrent clients defining and listing
 * networks (the store must come out consistent). Needs $NF_BUILD/netd. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../netd/netxml.h"
#include "../../lib/proto.h"
#include "../common/netd_spawn.h"

static char dir[] = "/tmp/nf-proto-XXXXXX", sock[256];
static pid_t netd_pid;

static void start_netd(void)
{
	netd_pid = netd_spawn(dir, sock, sizeof(sock));
	if (netd_pid < 0)
		fail_msg("netd did not come up");
}

static void stop_netd(void)
{
	netd_stop(netd_pid);
}

static int setup(void **st)
{
	(void)st;
	if (!mkdtemp(dir))
		return -1;
	start_netd();
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[128];
	stop_netd();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static json_t *raw_exchange(const void *bytes, size_t n)
{
	struct nf_err e;
	int fd = proto_connect(sock, &e);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	struct proto_rx rx = {0};
	json_t *msg = NULL;
	while (proto_rx_next(&rx, &msg, NULL, NULL, &e) == 0)
		if (proto_rx_fill(&rx, fd) <= 0)
			break;
	proto_rx_free(&rx);
	close(fd);
	return msg;
}

static void assert_error_code(json_t *rep, const char *code)
{
	assert_non_null(rep);
	assert_true(json_is_false(json_object_get(rep, "ok")));
	json_t *err = json_object_get(rep, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
			    code);
	assert_true(strlen(json_string_value(json_object_get(err, "message"))) >
		    10);
	json_decref(rep);
}

static json_t *call(const char *cmd, json_t *args)
{
	struct nf_err e;
	json_t *rep = NULL;
	int fd = proto_connect(sock, &e);
	assert_true(fd >= 0);
	assert_int_equal(proto_call(fd, cmd, args, &rep, NULL, NULL, &e), 0);
	close(fd);
	json_decref(args);
	return rep;
}

static void test_malformed(void **st)
{
	(void)st;
	const char bad_json[] = "\0\0\0\x05{oops";
	assert_error_code(raw_exchange(bad_json, 9), "bad-message");
	const char array[] = "\0\0\0\x02[]";
	assert_error_code(raw_exchange(array, 6), "bad-message");
	uint32_t huge = htonl(100u << 20);
	assert_error_code(raw_exchange(&huge, 4), "too-large");
	const char nocmd[] = "\0\0\0\x08{\"id\":1}";
	assert_error_code(raw_exchange(nocmd, 12), "invalid-argument");
	assert_error_code(call("no-such-command", NULL), "not-supported");
	assert_error_code(call("net-info", json_pack("{s:i}", "network", 5)),
			  "invalid-argument");
	assert_error_code(
		call("net-define", json_pack("{s:s}", "xml", "<network>")),
		"invalid-argument");
	/* netd is still serving */
	json_t *rep = call("version", NULL);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	json_decref(rep);
}

static void test_fds_not_leaked(void **st)
{
	(void)st;
	int p[2], fd;
	struct nf_err e;
	char c;
	assert_int_equal(pipe(p), 0);
	fd = proto_connect(sock, &e);
	json_t *req = json_pack("{s:i, s:s}", "id", 7, "cmd", "version");
	assert_int_equal(proto_send(fd, req, &p[1], 1, &e), 0);
	json_decref(req);
	struct proto_rx rx = {0};
	json_t *rep = NULL;
	while (proto_rx_next(&rx, &rep, NULL, NULL, &e) == 0)
		assert_true(proto_rx_fill(&rx, fd) > 0);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	json_decref(rep);
	proto_rx_free(&rx);
	close(fd);
	close(p[1]);
	/* EOF only if netd closed its copy of the write end */
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
}

#define NCLIENTS 100

static void test_concurrent_clients(void **st)
{
	(void)st;
	pid_t kids[NCLIENTS];
	for (int i = 0; i < NCLIENTS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char xml[512];
			struct nf_err e;
			json_t *rep = NULL;
			snprintf(xml, sizeof(xml),
				 "<network><name>c%d</name><ip "
				 "address='10.%d.%d.1' prefix='24'/></network>",
				 i, 100 + i / 200, i % 200);
			int fd = proto_connect(sock, &e);
			if (fd < 0 ||
			    proto_call(fd, "net-define",
				       json_pack("{s:s}", "xml", xml), &rep,
				       NULL, NULL, &e) < 0 ||
			    !json_is_true(json_object_get(rep, "ok")))
				_exit(1);
			json_decref(rep);
			if (proto_call(fd, "net-list", NULL, &rep, NULL, NULL,
				       &e) < 0 ||
			    !json_is_true(json_object_get(rep, "ok")))
				_exit(2);
			_exit(0);
		}
	}
	for (int i = 0; i < NCLIENTS; i++) {
		int status;
		waitpid(kids[i], &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	json_t *rep = call("net-list", NULL);
	json_t *list = json_object_get(rep, "result");
	assert_int_equal(json_array_size(list), NCLIENTS);
	/* every bridge name is distinct */
	size_t i, j;
	json_t *a, *b;
	json_array_foreach (list, i, a)
		json_array_foreach (list, j, b) {
			if (i < j)
				assert_string_not_equal(
					json_string_value(
						json_object_get(a, "bridge")),
					json_string_value(
						json_object_get(b, "bridge")));
		}
	json_decref(rep);
	/* the store holds exactly those, each a valid definition, and a
	 * restarted netd loads them all */
	char path[512];
	snprintf(path, sizeof(path), "%s/etc", dir);
	DIR *d = opendir(path);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".xml"))
			continue;
		assert_int_not_equal(de->d_name[0], '.'); /* no temp files */
		char *buf;
		struct nf_err e;
		struct netxml *nx;
		snprintf(path, sizeof(path), "%s/etc/%s", dir, de->d_name);
		assert_int_equal(nf_read_file(path, 1 << 20, &buf, NULL, &e),
				 0);
		assert_int_equal(netxml_parse(buf, strlen(buf), path, &nx, &e),
				 0);
		netxml_free(nx);
		free(buf);
		files++;
	}
	closedir(d);
	assert_int_equal(files, NCLIENTS);
	stop_netd();
	start_netd();
	rep = call("net-list", NULL);
	assert_int_equal(json_array_size(json_object_get(rep, "result")),
			 NCLIENTS);
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fds_not_leaked),
		cmocka_unit_test(test_concurrent_clients),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
