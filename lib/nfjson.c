#define _GNU_SOURCE
#include <errno.h>
#include "nfjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
