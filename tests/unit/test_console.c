/* netvm's console writer: a file it writes stays under its cap whatever
 * the guest prints, and keeps the newest output. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../vhost/console.h"

static void test_capped(void **st)
{
	(void)st;
	char path[] = "/tmp/nf-console-XXXXXX", spec[64];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	struct console c;
	struct nf_err e;
	assert_int_equal(console_open(&c, spec, 16384, &e), 0);
	/* a chatty guest: 1 MB of numbered lines */
	char line[32];
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(line, sizeof(line), "line %07d\n", i);
		for (int k = 0; k < n; k++)
			console_put(&c, (uint8_t)line[k]);
	}
	console_close(&c);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 16384);
	assert_true(sb.st_size >= 8192 - 4096);
	char *buf = malloc((size_t)sb.st_size + 1);
	FILE *f = fopen(path, "r");
	assert_int_equal(fread(buf, 1, (size_t)sb.st_size, f),
			 (size_t)sb.st_size);
	fclose(f);
	buf[sb.st_size] = 0;
	/* the newest line is there, whole, at the end */
	assert_non_null(strstr(buf, "line 0099999\n"));
	assert_int_equal(buf[sb.st_size - 1], '\n');
	free(buf);
	unlink(path);
}

static void test_fd_and_none(void **st)
{
	(void)st;
	struct console c;
	struct nf_err e;
	assert_int_equal(console_open(&c, "none", 0, &e), 0);
	console_put(&c, 'x');
	console_close(&c);
	assert_int_not_equal(console_open(&c, "fd:9999", 0, &e), 0);
	assert_int_not_equal(console_open(&c, "tty", 0, &e), 0);
	assert_non_null(strstr(e.msg, "stdio, file:PATH, fd:N or none"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capped),
		cmocka_unit_test(test_fd_and_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
