/* Unit tests for the definition store: atomic saves, autostart marks,
 * corrupt and foreign files left alone. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/nfjson.h"
#include "../../netd/store.h"

static char dir[] = "/tmp/nf-store-XXXXXX";

static int setup(void **st)
{
	(void)st;
	strcpy(dir, "/tmp/nf-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct netxml *net(const char *name)
{
	char xml[512];
	struct netxml *nx;
	struct nf_err e;
	snprintf(xml, sizeof(xml),
		 "<network><name>%s</name><ip address='10.0.0.1' "
		 "prefix='24'/></network>",
		 name);
	assert_int_equal(netxml_parse(xml, strlen(xml), "t", &nx, &e), 0);
	uint8_t u[16];
	nf_uuid_generate(u);
	assert_int_equal(netxml_set_uuid(nx, u, &e), 0);
	return nx;
}

struct seen {
	char names[8][64];
	bool autostart[8];
	int n;
};

static void collect(struct netxml *nx, bool autostart, void *ctx)
{
	struct seen *s = ctx;
	snprintf(s->names[s->n], 64, "%s", nx->def.name);
	s->autostart[s->n++] = autostart;
	netxml_free(nx);
}

static void write_file(const char *name, const char *content)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(content, f);
	fclose(f);
}

static char *read_back(const char *name)
{
	char p[256], *s;
	struct nf_err e;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(nf_read_file(p, 1 << 20, &s, NULL, &e), 0);
	return s;
}

static void test_roundtrip_and_autostart(void **st)
{
	(void)st;
	struct store s;
	struct nf_err e;
	struct seen seen = {0};
	assert_int_equal(store_open(&s, dir, &e), 0);
	struct netxml *a = net("alpha"), *b = net("beta");
	assert_int_equal(store_save(&s, a, &e), 0);
	assert_int_equal(store_save(&s, b, &e), 0);
	assert_int_equal(store_set_autostart(&s, "beta", true, &e), 0);
	store_close(&s);
	assert_int_equal(store_open(&s, dir, &e), 0);
	assert_int_equal(store_load(&s, collect, &seen), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(seen.autostart[i],
				 !strcmp(seen.names[i], "beta"));
	/* no temporary files are left behind */
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, ".tmp"));
	closedir(d);
	assert_int_equal(store_delete(&s, "beta", &e), 0);
	assert_false(store_autostart(&s, "beta"));
	store_close(&s);
	seen.n = 0;
	assert_int_equal(store_open(&s, dir, &e), 0);
	assert_int_equal(store_load(&s, collect, &seen), 1);
	assert_string_equal(seen.names[0], "alpha");
	store_close(&s);
	netxml_free(a);
	netxml_free(b);
}

static void test_corrupt_and_foreign_left_alone(void **st)
{
	(void)st;
	struct store s;
	struct nf_err e;
	struct seen seen = {0};
	const char *corrupt = "<network><name>broken</name><ip address=";
	const char *foreign = "<network><name>other</name></network>";
	write_file("broken.xml", corrupt);
	write_file("mislabel.xml", foreign);
	write_file("README", "not xml at all");
	assert_int_equal(store_open(&s, dir, &e), 0);
	assert_int_equal(store_load(&s, collect, &seen), 0);
	/* defining a network of that name would overwrite: refused */
	struct netxml *b = net("broken");
	assert_int_equal(store_save(&s, b, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "move it away"));
	assert_int_equal(store_delete(&s, "broken", &e), -EEXIST);
	netxml_free(b);
	store_close(&s);
	char *c = read_back("broken.xml"), *f = read_back("mislabel.xml");
	assert_string_equal(c, corrupt);
	assert_string_equal(f, foreign);
	free(c);
	free(f);
}

static void test_atomic_replace(void **st)
{
	(void)st;
	struct nf_err e;
	char p[256];
	snprintf(p, sizeof(p), "%s/file", dir);
	assert_int_equal(
		nf_write_file_atomic(p, "one", 3, 0600, NF_DURABLE, &e), 0);
	assert_int_equal(
		nf_write_file_atomic(p, "two!", 4, 0600, NF_DURABLE, &e), 0);
	char *s = read_back("file");
	assert_string_equal(s, "two!");
	free(s);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* a write into a missing directory fails cleanly */
	assert_true(nf_write_file_atomic("/nonexistent-nf/x", "a", 1, 0600,
					 NF_DURABLE, &e) < 0);
	assert_non_null(strstr(e.msg, "/nonexistent-nf"));
}

/* A record rewritten in place: the same file (inode) each time, what
 * reads back is the last object whatever the lengths, a record past a
 * page is written whole instead, a symlink in its place is not followed. */
static void test_records(void **st)
{
	(void)st;
	struct nf_err e;
	char sub[256], p[300], big[6000];
	struct stat a, b;
	snprintf(sub, sizeof(sub), "%s/recs", dir);
	snprintf(p, sizeof(p), "%s/r.json", sub);
	assert_int_equal(nf_json_record(sub, "r.json",
					json_pack("{s:s, s:i}", "state",
						  "starting-with-a-long-name",
						  "pid", 12345),
					&e),
			 0);
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(a.st_size % 256, 0);
	assert_int_equal(nf_json_record(sub, "r.json",
					json_pack("{s:s}", "state", "up"), &e),
			 0);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	json_t *j = nf_json_read(p);
	assert_non_null(j);
	assert_string_equal(nf_json_str(j, "state"), "up");
	assert_null(json_object_get(j, "pid")); /* nothing of the longer one */
	json_decref(j);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(nf_json_record(sub, "r.json",
					json_pack("{s:s}", "state", big), &e),
			 0);
	assert_non_null(j = nf_json_read(p));
	assert_string_equal(nf_json_str(j, "state"), big);
	json_decref(j);
	assert_int_equal(nf_json_record(sub, "r.json",
					json_pack("{s:s}", "state", "down"),
					&e),
			 0);
	assert_non_null(j = nf_json_read(p));
	assert_string_equal(nf_json_str(j, "state"), "down");
	json_decref(j);
	char target[300], link[300];
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/l.json", sub);
	write_file("target", "theirs");
	assert_int_equal(symlink(target, link), 0);
	assert_true(nf_json_record(sub, "l.json",
				   json_pack("{s:s}", "state", "up"), &e) < 0);
	char *t = read_back("target");
	assert_string_equal(t, "theirs");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_and_autostart,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_corrupt_and_foreign_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
