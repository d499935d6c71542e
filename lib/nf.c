#define _GNU_SOURCE
#include "nf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

int nf_errf(struct nf_err *e, int errnum, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		e->code = errnum;
	}
	return -errnum;
}

int nf_err_prefix(struct nf_err *e, const char *fmt, ...)
{
	char pre[512], old[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Truncation is fine: a long message is still a message. */
	size_t pl = strnlen(pre, sizeof(pre) - 1);
	memcpy(e->msg, pre, pl);
	memcpy(e->msg + pl, ": ", 2);
	size_t rest = sizeof(e->msg) - pl - 3;
	size_t ol = strnlen(old, rest);
	memcpy(e->msg + pl + 2, old, ol);
	e->msg[pl + 2 + ol] = '\0';
	return -e->code;
}

const char *nf_err_codename(int errnum)
{
	switch (errnum) {
	case ENOENT: return "not-found";
	case EEXIST: return "already-exists";
	case EPERM:
	case EACCES: return "permission-denied";
	case EINVAL: return "invalid-argument";
	case EBUSY: return "busy";
	case EFBIG:
	case E2BIG:
	case EMSGSIZE: return "too-large";
	case EBADMSG: return "bad-message";
	case ENOTSUP: return "not-supported";
	default: return "internal-error";
	}
}

static struct {
	bool syslog;
	enum nf_log_level level;
	const char *ident;
} logcfg = {false, NF_LOG_INFO, "netfabric"};

void nf_log_init(const char *ident, bool use_syslog, enum nf_log_level level)
{
	logcfg.ident = ident;
	logcfg.syslog = use_syslog;
	logcfg.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

int nf_log_parse_level(const char *s)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	for (size_t i = 0; i < NF_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

void nf_log(enum nf_log_level lvl, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *tag[] = {"error", "warning", "info", "debug"};
	va_list ap;

	if (lvl > logcfg.level)
		return;
	va_start(ap, fmt);
	if (logcfg.syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else {
		char line[2048];
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "%s: %s: %s\n", logcfg.ident, tag[lvl], line);
	}
	va_end(ap);
}

void *nf_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *nf_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		abort();
	return p;
}

void *nf_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *nf_xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

void nf_buf_add(struct nf_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = nf_xrealloc(b->s, cap);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void nf_buf_add_quoted(struct nf_buf *b, const char *s)
{
	nf_buf_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			nf_buf_add(b, "\\", 1);
		nf_buf_add(b, s, 1);
	}
	nf_buf_add(b, "\"", 1);
}

void nf_buf_vprintf(struct nf_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	char tmp[256];
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		nf_buf_add(b, tmp, (size_t)n);
		return;
	}
	char *big = nf_xmalloc((size_t)n + 1);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	nf_buf_add(b, big, (size_t)n);
	free(big);
}

void nf_buf_printf(struct nf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nf_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *nf_buf_steal(struct nf_buf *b)
{
	char *s = b->s ? b->s : nf_xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void nf_buf_free(struct nf_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int nf_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Files replaced by nf_write_file_atomic whose freeing waits for
 * nf_release_replaced (while nf_defer_replaced is on). */
static bool deferring;
static int deferred[64];
static size_t ndeferred;

void nf_defer_replaced(bool on)
{
	deferring = on;
	if (!on)
		nf_release_replaced();
}

void nf_release_replaced(void)
{
	while (ndeferred)
		close(deferred[--ndeferred]);
}

int nf_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, int durable, struct nf_err *e)
{
	char *dcopy = nf_xstrdup(path), *bcopy = nf_xstrdup(path);
	char *dir = dirname(dcopy), *base = basename(bcopy);
	char tmp[4096];
	const char *p = data;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmpXXXXXX", dir, base) >=
	    (int)sizeof(tmp)) {
		r = nf_errf(e, ENAMETOOLONG, "path too long: %s", path);
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = nf_errf(e, errno, "cannot create temporary file in %s: %s",
			    dir, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = nf_errf(e, errno, "cannot write %s: %s", tmp,
				    strerror(errno));
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!r && fchmod(fd, mode) < 0)
		r = nf_errf(e, errno, "cannot chmod %s: %s", tmp,
			    strerror(errno));
	if (!r && durable && fsync(fd) < 0)
		r = nf_errf(e, errno, "cannot fsync %s: %s", tmp,
			    strerror(errno));
	close(fd);
	int old = -1; /* the file replaced, held to be let go later */
	if (!r && deferring)
		old = open(path,
			   O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (!r && rename(tmp, path) < 0)
		r = nf_errf(e, errno, "cannot rename %s to %s: %s", tmp, path,
			    strerror(errno));
	if (old >= 0 && (r || ndeferred == NF_ARRAY_SIZE(deferred)))
		close(old);
	else if (old >= 0)
		deferred[ndeferred++] = old;
	if (r)
		unlink(tmp);
	else if (durable)
		nf_fsync_dir(dir);
out:
	free(dcopy);
	free(bcopy);
	return r;
}

int nf_read_fd(int fd, size_t max, char **out, size_t *lenp, const char *name,
	       struct nf_err *e)
{
	struct stat st;
	size_t len = 0, cap = 65536;
	if (fstat(fd, &st) < 0)
		return nf_errf(e, errno, "%s: %s", name, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return nf_errf(e, EISDIR, "%s is a directory", name);
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
		return nf_errf(e, EFBIG, "%s is %lld bytes; the limit is %zu",
			       name, (long long)st.st_size, max);
	if (S_ISREG(st.st_mode))
		cap = (size_t)st.st_size + 1;
	char *buf = nf_xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = nf_xrealloc(buf, cap + 1);
		}
		/* from the start, whatever the shared offset says */
		ssize_t n =
			S_ISREG(st.st_mode)
				? pread(fd, buf + len, cap - len, (off_t)len)
				: read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(buf);
			return nf_errf(e, err, "cannot read %s: %s", name,
				       strerror(err));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return nf_errf(
				e, EFBIG,
				"%s is larger than the limit of %zu bytes",
				name, max);
		}
	}
	buf[len] = '\0';
	*out = buf;
	if (lenp)
		*lenp = len;
	return 0;
}

static int read_at(const char *path, int flags, size_t max, char **out,
		   size_t *lenp, struct nf_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | flags);
	if (fd < 0)
		return nf_errf(e, errno, "cannot open %s: %s", path,
			       strerror(errno));
	int r = nf_read_fd(fd, max, out, lenp, path, e);
	close(fd);
	return r;
}

int nf_read_file(const char *path, size_t max, char **out, size_t *lenp,
		 struct nf_err *e)
{
	return read_at(path, O_NOFOLLOW, max, out, lenp, e);
}

int nf_read_path(const char *path, size_t max, char **out, size_t *lenp,
		 struct nf_err *e)
{
	return read_at(path, 0, max, out, lenp, e);
}

int nf_mkdir_p(const char *path, mode_t mode, struct nf_err *e)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return nf_errf(e, EINVAL, "bad directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			struct stat st;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return nf_errf(e, errno,
					       "cannot create directory %s: %s",
					       buf, strerror(errno));
			if (lstat(buf, &st) < 0)
				return nf_errf(e, errno, "%s: %s", buf,
					       strerror(errno));
			/* a symlink at the end is never taken: whoever made it
			 * would choose where our files go */
			if (!S_ISDIR(st.st_mode) &&
			    (!S_ISLNK(st.st_mode) || !c))
				return nf_errf(e, ENOTDIR,
					       "%s is not a directory%s", buf,
					       S_ISLNK(st.st_mode)
						       ? " (it is a symlink)"
						       : "");
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Who may change what is in a directory: the reason it is not ours, or
 * NULL. `last`: the directory itself (stricter than those above it). */
static const char *untrusted(const struct stat *st, bool last)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "belongs to another user";
	bool others = st->st_mode & (S_IWGRP | S_IWOTH);
	if (others && (last || !(st->st_mode & S_ISVTX)))
		return last ? "is writable by other users"
			    : "is writable by other users (and not sticky)";
	return NULL;
}

int nf_dir_trusted(const char *dir, const char *what, struct nf_err *e)
{
	char real[4096], part[4096];
	int r = nf_mkdir_p(dir, 0755, e);
	if (r < 0)
		return nf_err_prefix(e, "%s", what);
	if (!realpath(dir, real))
		return nf_errf(e, errno, "%s %s: %s", what, dir,
			       strerror(errno));
	size_t n = strlen(real);
	for (size_t i = 0; i <= n; i++) {
		if (i && real[i] != '/' && real[i] != '\0')
			continue;
		memcpy(part, real, i ? i : 1);
		part[i ? i : 1] = '\0';
		struct stat st;
		if (lstat(part, &st) < 0)
			return nf_errf(e, errno, "%s %s: %s: %s", what, dir,
				       part, strerror(errno));
		const char *why = untrusted(&st, i == n);
		if (why)
			return nf_errf(
				e, EPERM,
				"%s %s: %s %s (owner uid %u, mode %04o), "
				"so that user could put or swap files "
				"netd writes as root; use a directory "
				"of root's, not writable by others%s",
				what, dir, part, why, (unsigned)st.st_uid,
				(unsigned)(st.st_mode & 07777),
				i == n ? " (chown root, chmod go-w)" : "");
	}
	return 0;
}

int nf_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int nf_fmt(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int l = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (l < 0 || (size_t)l >= n) {
		if (n)
			out[0] = 0;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void nf_random_name(const char *prefix, char *out, size_t n)
{
	uint32_t rnd = 0;
	nf_random_bytes(&rnd, sizeof(rnd));
	snprintf(out, n, "%s%08x", prefix, rnd);
}

void nf_uuid_generate(uint8_t u[16])
{
	if (nf_random_bytes(u, 16) < 0)
		abort();
	u[6] = (u[6] & 0x0f) | 0x40; /* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80; /* RFC 4122 variant */
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Accepts the canonical 8-4-4-4-12 form and, as libvirt does, 32 hex digits
 * with dashes anywhere between bytes. */
int nf_uuid_parse(const char *s, uint8_t u[16])
{
	int i = 0;
	while (*s == ' ')
		s++;
	while (i < 16) {
		if (*s == '-') {
			s++;
			continue;
		}
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[i++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	while (*s == ' ')
		s++;
	return *s ? -EINVAL : 0;
}

void nf_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

int nf_mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo;
		if (hi < 0)
			return -EINVAL;
		lo = hexval(s[1]);
		if (lo <
		    0) { /* libvirt accepts one-digit octets: 0:16:3e:... */
			mac[i] = (uint8_t)hi;
			s += 1;
		} else {
			mac[i] = (uint8_t)(hi << 4 | lo);
			s += 2;
		}
		if (i < 5) {
			if (*s != ':')
				return -EINVAL;
			s++;
		}
	}
	return *s ? -EINVAL : 0;
}

void nf_mac_format(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}

uint64_t nf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct {
	const char *module, *name;
} kvm_kinds[] = {
	[NF_KVM_NONE] = {"", "no KVM module"},
	[NF_KVM_VMX] = {"kvm_intel", "Intel VMX (kvm_intel)"},
	[NF_KVM_SVM] = {"kvm_amd", "AMD SVM (kvm_amd)"},
	[NF_KVM_PVM] = {"kvm_pvm", "PVM (kvm_pvm)"},
};

enum nf_kvm nf_kvm_kind(const char *sysroot)
{
	/* PVM first: where it is loaded, it is what /dev/kvm runs */
	static const enum nf_kvm order[] = {NF_KVM_PVM, NF_KVM_VMX, NF_KVM_SVM};
	char p[4096];
	for (size_t i = 0; i < NF_ARRAY_SIZE(order); i++)
		if (nf_fmt(p, sizeof(p), "%s/sys/module/%s", sysroot,
			   kvm_kinds[order[i]].module) == 0 &&
		    access(p, F_OK) == 0)
			return order[i];
	return NF_KVM_NONE;
}

const char *nf_kvm_name(enum nf_kvm k)
{
	return kvm_kinds[k].name;
}

void nf_dir_each(const char *dir, const char *suffix, const char *then,
		 void (*fn)(const char *name, const char *path, void *ctx),
		 void *ctx)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	size_t sl = strlen(suffix);
	if (fd >= 0 && !d)
		close(fd);
	while (d && (de = readdir(d))) {
		char name[256], path[4096];
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= sl ||
		    strcmp(de->d_name + l - sl, suffix))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - sl), de->d_name);
		snprintf(path, sizeof(path), "%s/%s%s%s", dir, de->d_name,
			 then ? "/" : "", then ? then : "");
		fn(name, path, ctx);
	}
	if (d)
		closedir(d);
}

static struct rlimit fd_limit_at_start;
static bool fd_limit_raised;

void nf_fd_limit_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	fd_limit_at_start = rl;
	rl.rlim_cur = rl.rlim_max;
	fd_limit_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

int nf_fds_to_3(const int *fds, unsigned n)
{
	int up[32];
	if (n > 32)
		return -1;
	for (unsigned i = 0; i < n; i++) /* out of the way first */
		if ((up[i] = fcntl(fds[i], F_DUPFD, 3 + (int)n)) < 0)
			return -1;
	for (unsigned i = 0; i < n; i++)
		if (dup2(up[i], 3 + (int)i) < 0)
			return -1;
	close_range(3 + n, ~0u, 0);
	return 0;
}

void nf_fd_limit_restore(void)
{
	if (fd_limit_raised)
		setrlimit(RLIMIT_NOFILE, &fd_limit_at_start);
}

int nf_proc_read(pid_t pid, struct nf_proc *p)
{
	char path[64], buf[1024];
	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* the name in parentheses may hold anything: fields follow the last
	 * ')'; state is field 3, starttime field 22 */
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return -EIO;
	p->zombie = rp[2] == 'Z' || rp[2] == 'X';
	char *f = rp + 2;
	for (int i = 3; i < 22 && f; i++) {
		f = strchr(f, ' ');
		if (f)
			f++;
	}
	if (!f)
		return -EIO;
	p->start = strtoull(f, NULL, 10);
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return -ESRCH;
	p->uid = st.st_uid; /* the owner of /proc/PID: its euid */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *sf = fopen(path, "re");
	char line[256];
	while (sf && fgets(line, sizeof(line), sf))
		if (!strncmp(line, "Uid:", 4)) {
			p->uid = (uid_t)strtoul(line + 4, NULL, 10);
			break;
		}
	if (sf)
		fclose(sf);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = '\0';
	return 0;
}

bool nf_proc_is(pid_t pid, uid_t uid, unsigned long long start, const char *exe)
{
	struct nf_proc p;
	if (pid <= 0 || nf_proc_read(pid, &p) < 0 || p.zombie || p.uid != uid ||
	    (start && p.start != start))
		return false;
	if (!exe)
		return true;
	/* the executable needs ptrace rights to read (netd's service unit
	 * gives no CAP_SYS_PTRACE): unreadable, pid, start and uid decide */
	if (!p.exe[0] && start)
		return true;
	char want[4096];
	return realpath(exe, want) && !strcmp(p.exe, want);
}

void nf_owner_tag(const char *run_dir, char *out, size_t n)
{
	char abs[4096];
	const char *p = realpath(run_dir, abs) ? abs : run_dir;
	uint32_t h = 2166136261u;
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, n, "netd:%08x", h);
}

unsigned nf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	/* optimal string alignment: three rows of the edit matrix */
	unsigned r0[64], r1[64], r2[64], *pp = r0, *p = r1, *c = r2;
	for (size_t j = 0; j <= lb; j++)
		p[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		c[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
		}
		unsigned *t = pp;
		pp = p, p = c, c = t;
	}
	return p[lb];
}

/* Runs a child with stdin and stdout on /dev/null and stderr into msg
 * (n bytes, terminated): run(arg) in the child execs, or says why not
 * and exits 127. Returns the child's wait status, or -1 with e set. */
int nf_run_child(void (*run)(void *arg), void *arg, char *msg, size_t n,
		 struct nf_err *e)
{
	int st, p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nf_errf(e, errno, "pipe: %s", strerror(errno)), -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return nf_errf(e, errno, "fork: %s", strerror(errno)), -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(p[1], 2);
		nf_fd_limit_restore();
		run(arg);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	for (ssize_t k;
	     len < n - 1 && (k = read(p[0], msg + len, n - 1 - len)) > 0;)
		len += (size_t)k;
	msg[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}
