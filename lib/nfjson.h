/* netd's small JSON records (a network's status, a port, a lab, a VF's
 * saved state) and the accessors requests use. */
#ifndef NFJSON_H
#define NFJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "nf.h"

/* A record, or NULL (missing, unreadable, not JSON); never follows a
 * symlink. */
json_t *nf_json_read(const char *path);
/* Writes j (taken: freed) as dir/name atomically (a new file renamed
 * over the old), making dir if missing; durable: fsynced (records that
 * must survive a crash of the machine). */
int nf_json_write(const char *dir, const char *name, json_t *j, bool durable,
		  struct nf_err *e);
/* A small record that changes often (a port's, a guest's): written over
 * in place (one write within a page, padded with white space JSON
 * ignores) rather than as a new file renamed over the old, which on a
 * disk file system costs an inode made and one freed each time, and
 * finding a free inode costs more the more were freed lately. Like a
 * volatile nf_json_write it survives netd being killed, not a power cut;
 * the dir is made if missing. Takes j. */
int nf_json_record(const char *dir, const char *name, json_t *j,
		   struct nf_err *e);
/* A string member, or NULL when absent or not a string. */
const char *nf_json_str(json_t *obj, const char *key);

#endif
