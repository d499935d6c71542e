/* netvm's seccomp allowlist, installed once the VM and its devices are set
 * up: from then on the process can run vCPUs, move frames and interrupts,
 * write its console and end, and nothing else - no new files, sockets,
 * programs or processes, no executable memory, only the ioctls KVM, the
 * TAPs and vhost-net need while running. The filter is classic BPF built
 * here (no libseccomp), in the manner of Firecracker's. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/vhost.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 256

struct prog {
	struct sock_filter f[MAX_INSNS];
	unsigned n;
	bool full;
};

static void emit(struct prog *p, struct sock_filter s)
{
	if (p->n < MAX_INSNS)
		p->f[p->n++] = s;
	else
		p->full = true;
}

#define LD(off)	     BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v)	     BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define NR	     offsetof(struct seccomp_data, nr)
#define ARG_LO(i)    offsetof(struct seccomp_data, args[i])
#define ARG_HI(i)    (offsetof(struct seccomp_data, args[i]) + 4)

static const int plain[] = {
	SYS_read,
	SYS_write,
	SYS_readv,
	SYS_writev,
	SYS_pread64,
	SYS_pwrite64,
	SYS_preadv,
	SYS_pwritev,
	SYS_fdatasync,
	SYS_fallocate,
	SYS_close,
	SYS_fstat,
	SYS_newfstatat,
	SYS_lseek,
	SYS_ftruncate,
	SYS_fcntl,
	SYS_munmap,
	SYS_madvise,
	SYS_mremap,
	SYS_mincore,
	SYS_brk,
	SYS_futex,
	SYS_epoll_wait,
	SYS_epoll_pwait,
	SYS_epoll_ctl,
	SYS_poll,
	SYS_ppoll,
	SYS_clock_gettime,
	SYS_clock_nanosleep,
	SYS_nanosleep,
	SYS_gettid,
	SYS_getpid,
	SYS_tgkill,
	SYS_rt_sigprocmask,
	SYS_rt_sigreturn,
	SYS_rt_sigaction,
	SYS_sigaltstack,
	SYS_exit,
	SYS_exit_group,
	SYS_set_robust_list,
	SYS_rseq,
	SYS_sched_yield,
	SYS_getrandom,
	SYS_restart_syscall,
	SYS_sched_getaffinity,
	SYS_epoll_create1,
	SYS_eventfd2,
	SYS_accept4, /* a client for the serial socket */
};

/* what running needs of ioctl: a vCPU, interrupt routes, offloads and
 * queues of the TAP, the rings of vhost-net */
static const unsigned long ioctls[] = {
	KVM_RUN,
	KVM_IRQFD,
	KVM_IOEVENTFD,
	KVM_SET_GSI_ROUTING,
	KVM_SIGNAL_MSI,
	KVM_IRQ_LINE,
	KVM_IRQ_LINE_STATUS,
	TUNSETOFFLOAD,
	TUNSETQUEUE,
	VHOST_SET_FEATURES,
	VHOST_SET_MEM_TABLE,
	VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_BASE,
	VHOST_SET_VRING_ADDR,
	VHOST_SET_VRING_KICK,
	VHOST_SET_VRING_CALL,
	VHOST_GET_VRING_BASE,
	VHOST_NET_SET_BACKEND,
};

/* files, for --status and debug logging only */
static const int files[] = {SYS_openat, SYS_rename, SYS_unlink, SYS_fsync,
			    SYS_fchmod};

static void allow_nr(struct prog *p, int nr)
{
	emit(p, (struct sock_filter)JEQ((unsigned)nr, 0, 1));
	emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
}

/* Allows syscall nr when its argument arg (64 bits) has none of the bits
 * in bad; the number in A is reloaded afterwards. */
static void allow_without(struct prog *p, int nr, unsigned arg, uint32_t bad)
{
	emit(p, (struct sock_filter)JEQ((unsigned)nr, 0, 4));
	emit(p, (struct sock_filter)LD(ARG_LO(arg)));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bad, 1,
					     0));
	emit(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	emit(p, (struct sock_filter)LD(NR));
}

static void sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char msg[96];
	int n = snprintf(msg, sizeof(msg),
			 "netvm: seccomp: syscall %d is not allowed; stopped\n",
			 si->si_syscall);
	if (write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

int netvm_seccomp(bool files_too, struct nf_err *e)
{
	struct prog p = {0};
	/* the architecture first: another ABI's numbers mean other calls */
	emit(&p, (struct sock_filter)LD(offsetof(struct seccomp_data, arch)));
	emit(&p, (struct sock_filter)JEQ(AUDIT_ARCH_X86_64, 1, 0));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS));
	emit(&p, (struct sock_filter)LD(NR));
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
					      0x40000000u, 0, 1)); /* x32 */
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS));
	for (size_t i = 0; i < NF_ARRAY_SIZE(plain); i++)
		allow_nr(&p, plain[i]);
	for (size_t i = 0; files_too && i < NF_ARRAY_SIZE(files); i++)
		allow_nr(&p, files[i]);
	/* memory, never executable */
	allow_without(&p, SYS_mmap, 2, PROT_EXEC);
	allow_without(&p, SYS_mprotect, 2, PROT_EXEC);
	/* threads, not processes: clone must share the VM and be a thread;
	 * clone3 hides its flags in memory, so glibc is told to use clone */
	emit(&p, (struct sock_filter)JEQ(SYS_clone3, 0, 1));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_ERRNO | ENOSYS));
	emit(&p, (struct sock_filter)JEQ(SYS_clone, 0, 5));
	emit(&p, (struct sock_filter)LD(ARG_LO(0)));
	emit(&p, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K,
					      CLONE_VM | CLONE_THREAD));
	emit(&p, (struct sock_filter)JEQ(CLONE_VM | CLONE_THREAD, 0, 1));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	emit(&p, (struct sock_filter)LD(NR));
	/* ioctl by request number (the high half must be zero) */
	emit(&p, (struct sock_filter)JEQ(SYS_ioctl, 0,
					 (unsigned)NF_ARRAY_SIZE(ioctls) + 3));
	emit(&p, (struct sock_filter)LD(ARG_HI(1)));
	emit(&p, (struct sock_filter)JEQ(0, 0,
					 (unsigned)NF_ARRAY_SIZE(ioctls) + 1));
	emit(&p, (struct sock_filter)LD(ARG_LO(1)));
	for (size_t i = 0; i < NF_ARRAY_SIZE(ioctls); i++)
		emit(&p, (struct sock_filter)JEQ(
				 (uint32_t)ioctls[i],
				 (unsigned)(NF_ARRAY_SIZE(ioctls) - i), 0));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_TRAP));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	emit(&p, (struct sock_filter)RET(SECCOMP_RET_TRAP));
	if (p.full)
		return nf_errf(e, E2BIG, "seccomp filter too long");
	struct sigaction sa = {.sa_sigaction = sigsys, .sa_flags = SA_SIGINFO};
	sigaction(SIGSYS, &sa, NULL);
	struct sock_fprog fp = {.len = (unsigned short)p.n, .filter = p.f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &fp) != 0)
		return nf_errf(e, errno,
			       "cannot install the seccomp filter: %s",
			       strerror(errno));
	return 0;
}
