/* netfabric shared helpers: error type, logging, small utilities.
 * Every module uses these; nothing here knows about networks. */
#ifndef NF_H
#define NF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One error idiom across the tree: functions return 0 or a negative errno,
 * and fill a struct nf_err with the sentence a user will read. The message
 * is written once, where the context (network, element, line) is known. */
struct nf_err {
	int code; /* positive errno */
	char msg[1024];
};

/* Sets e (if not NULL) and returns -errnum. */
int nf_errf(struct nf_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes an existing message: "ctx: old message". Returns -e->code. */
int nf_err_prefix(struct nf_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Machine-readable code for the control protocol ("not-found", ...). */
const char *nf_err_codename(int errnum);

enum nf_log_level { NF_LOG_ERR, NF_LOG_WARN, NF_LOG_INFO, NF_LOG_DEBUG };
void nf_log_init(const char *ident, bool use_syslog, enum nf_log_level level);
int nf_log_parse_level(const char *s);
void nf_log(enum nf_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define nf_err_log(...) nf_log(NF_LOG_ERR, __VA_ARGS__)
#define nf_warn(...)	nf_log(NF_LOG_WARN, __VA_ARGS__)
#define nf_info(...)	nf_log(NF_LOG_INFO, __VA_ARGS__)
#define nf_debug(...)	nf_log(NF_LOG_DEBUG, __VA_ARGS__)

/* Growable string buffer. On allocation failure it aborts: out of memory in
 * a daemon that only builds small strings is not a recoverable state. */
struct nf_buf {
	char *s;
	size_t len, cap;
};
void nf_buf_printf(struct nf_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nf_buf_vprintf(struct nf_buf *b, const char *fmt, va_list ap);
void nf_buf_add(struct nf_buf *b, const char *s, size_t n);
/* s in double quotes, each " and \ escaped with a \ (what dnsmasq's
 * config reader and YAML's double-quoted scalars both take back). */
void nf_buf_add_quoted(struct nf_buf *b, const char *s);
char *nf_buf_steal(struct nf_buf *b); /* never NULL; caller frees */
void nf_buf_free(struct nf_buf *b);

void *nf_xmalloc(size_t n);
void *nf_xcalloc(size_t n, size_t sz);
void *nf_xrealloc(void *p, size_t n);
char *nf_xstrdup(const char *s);
/* Appends one element to a growable array *arr of *n elements. */
#define NF_APPEND(arr, n, val)                                                 \
	do {                                                                   \
		(arr) = nf_xrealloc((arr), ((n) + 1) * sizeof(*(arr)));        \
		(arr)[(n)++] = (val);                                          \
	} while (0)

/* Atomic file replace: temp file in the same dir, rename. After a crash
 * of the process the path holds the old or the new content. NF_DURABLE
 * adds fsync of the file and the dir, for the same after a power cut:
 * wanted for the config and state dirs, pointless for the run dir (a
 * tmpfs that a power cut empties anyway). */
#define NF_DURABLE  1
#define NF_VOLATILE 0
int nf_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, int durable, struct nf_err *e);
/* A replaced file's pages are freed when its last reference goes, in the
 * rename above: for a file of megabytes, a good part of the write's
 * cost. A daemon that answers requests turns this on and lets the old
 * files go with nf_release_replaced once its answers are out. */
void nf_defer_replaced(bool on);
void nf_release_replaced(void);
/* Reads a whole file up to max bytes; -EFBIG if larger. nf_read_file
 * never follows a symlink at path (a daemon's own files); nf_read_path
 * does (a file a user named, read with that user's rights); nf_read_fd
 * reads an open file from its start (pread: the fd's offset may be
 * shared), `name` naming it in messages. */
int nf_read_file(const char *path, size_t max, char **out, size_t *len,
		 struct nf_err *e);
int nf_read_path(const char *path, size_t max, char **out, size_t *len,
		 struct nf_err *e);
int nf_read_fd(int fd, size_t max, char **out, size_t *len, const char *name,
	       struct nf_err *e);
/* Makes path and the directories above it (mode for the new ones); an
 * existing entry on the way must be a directory, not a symlink to one. */
int nf_mkdir_p(const char *path, mode_t mode, struct nf_err *e);
/* Makes dir if missing and checks that a root daemon may keep its files
 * there: dir and every directory above it (symlinks resolved) belong to
 * root or to us, and no other user can write to them - above dir, a
 * world-writable directory is fine only with the sticky bit (/tmp).
 * `what` names the option in the message ("--run-dir"). */
int nf_dir_trusted(const char *dir, const char *what, struct nf_err *e);
/* Calls fn(name, path, ctx) for each entry of dir whose name ends in
 * suffix (name without it, not empty; path of the entry, with `then`
 * appended when given: "lab.json" inside a directory, say). Hidden
 * entries are skipped; a missing dir has none. */
/* Entries are read without following a symlink at dir itself. */
void nf_dir_each(const char *dir, const char *suffix, const char *then,
		 void (*fn)(const char *name, const char *path, void *ctx),
		 void *ctx);
/* Runs a child with stdin and stdout on /dev/null and stderr into msg
 * (n bytes, terminated): run(arg) in the child execs, or says why not
 * and exits 127. Returns the child's wait status, or -1 with e set. */
int nf_run_child(void (*run)(void *arg), void *arg, char *msg, size_t n,
		 struct nf_err *e);
int nf_fsync_dir(const char *dir);

/* snprintf into a fixed buffer that fails rather than cuts the result
 * short: -1 with errno ENAMETOOLONG and OUT empty when it does not fit. */
int nf_fmt(char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int nf_random_bytes(void *buf, size_t n);
/* PREFIX and 8 random hex digits: a link name netd makes, fresh each time
 * (never one just freed, whose removal may still be under way). */
void nf_random_name(const char *prefix, char *out, size_t n);
void nf_uuid_generate(uint8_t uuid[16]);
int nf_uuid_parse(const char *s, uint8_t uuid[16]);
void nf_uuid_format(const uint8_t uuid[16], char out[37]);
int nf_mac_parse(const char *s, uint8_t mac[6]);
void nf_mac_format(const uint8_t mac[6], char out[18]);

/* The tag that marks what a netd makes (links, tables, dnsmasq's files):
 * "netd:xxxxxxxx", a hash of its run dir, so netds with other dirs never
 * touch each other's objects. */
void nf_owner_tag(const char *run_dir, char *out, size_t n);

/* Raises the soft limit on open files to the hard limit (a daemon with
 * many clients); nf_fd_limit_restore, in a child about to exec, puts
 * back what the process started with. */
void nf_fd_limit_raise(void);
void nf_fd_limit_restore(void);
/* In a child about to exec: fds[0..n) (n at most 32) become 3, 4, ...
 * whatever numbers they had, and every other fd from 3 up is closed. 0,
 * or -1 when one of them is not open. */
int nf_fds_to_3(const int *fds, unsigned n);

/* Who a process is, from /proc: its real uid, its start time (clock
 * ticks after boot, stat field 22: with the pid, a name no later process
 * can take), its executable. A pid alone, or a command line, names
 * whatever process holds it now. */
struct nf_proc {
	uid_t uid;
	unsigned long long start;
	char exe[512]; /* "" when unreadable */
	bool zombie;
};
int nf_proc_read(pid_t pid, struct nf_proc *p);
/* pid is the process recorded as (uid, start, exe); start 0 or exe NULL
 * are not checked (nor exe when it cannot be read and start is given);
 * a zombie is not alive. */
bool nf_proc_is(pid_t pid, uid_t uid, unsigned long long start,
		const char *exe);

/* Which KVM backs /dev/kvm, told by the vendor module that is loaded
 * (under sysroot: "" for /). PVM runs PVM-enabled guest kernels, and
 * others only through KVM's instruction emulator: a stock Linux kernel
 * does not boot in it. */
enum nf_kvm { NF_KVM_NONE, NF_KVM_VMX, NF_KVM_SVM, NF_KVM_PVM };
enum nf_kvm nf_kvm_kind(const char *sysroot);
/* "Intel VMX (kvm_intel)", ..., "no KVM module" */
const char *nf_kvm_name(enum nf_kvm k);

/* Monotonic clock in nanoseconds. */
uint64_t nf_now_ns(void);

/* Edit distance of a and b (insert, delete, substitute, swap two), for
 * "did you mean": 99 when either is over 63 characters. */
unsigned nf_distance(const char *a, const char *b);

#endif
