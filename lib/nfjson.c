#define _GNU_SOURCE
#include <errno.h>
#include "nfjson.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

json_t *nf_json_read(const char *path)
{
	char *buf = NULL;
	struct nf_err e;
	if (nf_read_file(path, 16 << 20, &buf, NULL, &e) < 0)
		return NULL;
	json_t *j = json_loads(buf, 0, NULL);
	free(buf);
	return j;
}

int nf_json_write(const char *dir, const char *name, json_t *j, bool durable,
		  struct nf_err *e)
{
	char path[4096];
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* the dir is made when the first write finds it missing, not
	 * looked for on every write */
	int rc = nf_write_file_atomic(path, txt, strlen(txt), 0644,
				      durable ? NF_DURABLE : NF_VOLATILE, e);
	if (rc == -ENOENT && (rc = nf_mkdir_p(dir, 0755, e)) == 0)
		rc = nf_write_file_atomic(path, txt, strlen(txt), 0644,
					  durable ? NF_DURABLE : NF_VOLATILE,
					  e);
	free(txt);
	return rc;
}

const char *nf_json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A record fits one page (a write the kernel never tears at a kill) and
 * is padded to a multiple of this, so that the next write rarely grows
 * the file. */
#define RECORD_PAGE  4096
#define RECORD_ROUND 256

int nf_json_record(const char *dir, const char *name, json_t *j,
		   struct nf_err *e)
{
	char path[4096];
	char *txt = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == ENOENT && nf_mkdir_p(dir, 0755, e) == 0)
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0644);
	if (fd < 0) {
		int r = nf_errf(e, errno, "cannot open %s: %s", path,
				strerror(errno));
		free(txt);
		return r;
	}
	struct stat st;
	size_t len = strlen(txt), size = (len + 1 + RECORD_ROUND - 1) /
					 RECORD_ROUND * RECORD_ROUND;
	int r = 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size > size)
		size = (size_t)st.st_size; /* what it held is covered */
	if (size > RECORD_PAGE) {	   /* too big to overwrite untorn */
		close(fd);
		r = nf_write_file_atomic(path, txt, len, 0644, NF_VOLATILE, e);
		free(txt);
		return r;
	}
	char *buf = nf_xmalloc(size);
	memcpy(buf, txt, len);
	memset(buf + len, ' ', size - len - 1);
	buf[size - 1] = '\n';
	ssize_t n = pwrite(fd, buf, size, 0);
	if (n != (ssize_t)size)
		r = nf_errf(e, n < 0 ? errno : EIO, "cannot write %s: %s", path,
			    n < 0 ? strerror(errno) : "short write");
	close(fd);
	free(buf);
	free(txt);
	return r;
}
