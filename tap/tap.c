#define _GNU_SOURCE
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

void tap_host_mac(const uint8_t guest[6], uint8_t out[6])
{
	memcpy(out, guest, 6);
	out[0] = guest[0] == 0xfe ? 0xfa : 0xfe;
}

static int open_queue(const char *name, short flags, struct ifreq *ifr,
		      struct nf_err *e)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return nf_errf(e, errno, "cannot open /dev/net/tun: %s",
			       strerror(errno));
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	ifr->ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		int err = errno;
		close(fd);
		if (err == EBUSY && (flags & IFF_TUN_EXCL))
			return nf_errf(e, EEXIST,
				       "interface %s already exists; netd "
				       "makes its own TAPs and never takes "
				       "over another's (choose another name)",
				       name);
		return nf_errf(e, err, "cannot create TAP %s: %s", name,
			       strerror(err));
	}
	int hdr = TAP_VNET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = errno;
		close(fd);
		return nf_errf(e, err, "TUNSETVNETHDRSZ on %s: %s",
			       ifr->ifr_name, strerror(err));
	}
	return fd;
}

/* IPv6 off on a link not up yet (netlink cannot set disable_ipv6: the
 * per-link sysctl, in the caller's network namespace); a kernel without
 * IPv6 has no such file and nothing to turn off. */
static int no_ipv6(const char *name, struct nf_err *e)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : nf_errf(e, errno, "cannot open %s: %s",
						 path, strerror(errno));
	int r = write(fd, "1", 1) == 1
			? 0
			: nf_errf(e, errno, "cannot turn IPv6 off on %s: %s",
				  name, strerror(errno));
	close(fd);
	return r;
}

int tap_create(const struct tap_spec *s, int *fds, char name[16],
	       struct nf_err *e)
{
	short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	unsigned q = s->queues ? s->queues : 1, i;
	struct ifreq ifr;
	int r = 0;

	if (q > TAP_MAX_QUEUES)
		return nf_errf(e, EINVAL, "at most %d queues", TAP_MAX_QUEUES);
	if (q > 1)
		flags |= IFF_MULTI_QUEUE;
	for (i = 0; i < q; i++) {
		/* the first queue makes the TAP, and only a new one: an
		 * existing TAP of that name is someone else's */
		fds[i] = open_queue(i ? name : s->name,
				    i ? flags : flags | IFF_TUN_EXCL, &ifr, e);
		if (fds[i] < 0) {
			r = fds[i];
			goto fail;
		}
		if (!i)
			snprintf(name, 16, "%s", ifr.ifr_name);
	}
	if (s->persist && ioctl(fds[0], TUNSETPERSIST, 1) < 0) {
		r = nf_errf(e, errno, "TUNSETPERSIST on %s: %s", name,
			    strerror(errno));
		goto fail;
	}
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s->mac) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		tap_host_mac(s->mac, (uint8_t *)ifr.ifr_hwaddr.sa_data);
		if (ioctl(sk, SIOCSIFHWADDR, &ifr) < 0)
			r = nf_errf(e, errno, "cannot set the MAC of %s: %s",
				    name, strerror(errno));
	}
	if (!r && s->mtu) {
		ifr.ifr_mtu = (int)s->mtu;
		if (ioctl(sk, SIOCSIFMTU, &ifr) < 0)
			r = nf_errf(e, errno, "cannot set MTU %u on %s: %s",
				    s->mtu, name, strerror(errno));
	}
	close(sk);
	if (!r && s->bridge_port)
		r = no_ipv6(name, e);
	if (r)
		goto fail;
	return 0;
fail:
	if (s->persist && i > 0)
		ioctl(fds[0], TUNSETPERSIST, 0);
	while (i-- > 0)
		close(fds[i]);
	return r;
}

int tap_unpersist(const char *name, struct nf_err *e)
{
	struct ifreq ifr;
	/* attaching to an existing TAP needs its exact flags; try both */
	short variants[] = {IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
			    IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
				    IFF_MULTI_QUEUE};
	for (size_t k = 0; k < NF_ARRAY_SIZE(variants); k++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ifr.ifr_flags = variants[k];
		if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
			int r = ioctl(fd, TUNSETPERSIST, 0);
			close(fd);
			if (r < 0)
				return nf_errf(e, errno, "%s: %s", name,
					       strerror(errno));
			return 0;
		}
		close(fd);
	}
	return nf_errf(e, ENODEV, "cannot attach to TAP %s", name);
}

int tap_open_macvtap(const char *name, unsigned queues, const char *tmpdir,
		     int *fds, struct nf_err *e)
{
	char p[4096];
	unsigned idx, maj, min;
	snprintf(p, sizeof(p), "/sys/class/net/%s/ifindex", name);
	FILE *f = fopen(p, "r");
	int ok = f && fscanf(f, "%u", &idx) == 1;
	if (f)
		fclose(f);
	snprintf(p, sizeof(p), "/sys/class/net/%s/macvtap/tap%u/dev", name,
		 idx);
	f = ok ? fopen(p, "r") : NULL;
	ok = f && fscanf(f, "%u:%u", &maj, &min) == 2;
	if (f)
		fclose(f);
	if (!ok)
		return nf_errf(e, ENODEV, "%s is not a macvtap (no %s)", name,
			       p);
	/* /dev/tapN is named by ifindex, which other namespaces reuse:
	 * open a private node of our own instead */
	snprintf(p, sizeof(p), "%s/.%s-%d", tmpdir, name, (int)getpid());
	unlink(p);
	if (mknod(p, S_IFCHR | 0600, makedev(maj, min)) < 0)
		return nf_errf(e, errno,
			       "cannot make the device node of %s: %s", name,
			       strerror(errno));
	unsigned i;
	for (i = 0; i < queues; i++) {
		fds[i] = open(p, O_RDWR | O_CLOEXEC);
		int hdr = TAP_VNET_HDR_LEN;
		if (fds[i] < 0 || ioctl(fds[i], TUNSETVNETHDRSZ, &hdr) < 0)
			break;
	}
	int err = errno;
	unlink(p);
	if (i < queues) {
		for (unsigned k = 0; k <= i && k < queues; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		return nf_errf(e, err, "cannot open macvtap %s queue %u: %s",
			       name, i, strerror(err));
	}
	return 0;
}

/* 1 when fdinfo says the fd is attached to TAP name ("iff:\tNAME"). */
static bool fd_is_tap(const char *fdinfo, const char *name)
{
	char line[128], want[64];
	bool hit = false;
	FILE *f = fopen(fdinfo, "re");
	if (!f)
		return false;
	snprintf(want, sizeof(want), "iff:\t%s\n", name);
	while (!hit && fgets(line, sizeof(line), f))
		hit = !strcmp(line, want);
	fclose(f);
	return hit;
}

int tap_owner(const char *procroot, const char *name)
{
	char path[512], link[64], p[1024];
	snprintf(path, sizeof(path), "%s/proc", procroot);
	DIR *proc = opendir(path);
	int pid = 0;
	for (struct dirent *de; proc && !pid && (de = readdir(proc));) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/proc/%s/fd", procroot,
			 de->d_name);
		DIR *fds = opendir(path);
		for (struct dirent *f; fds && !pid && (f = readdir(fds));) {
			snprintf(p, sizeof(p), "%s/%s", path, f->d_name);
			ssize_t n = readlink(p, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (strcmp(link, "/dev/net/tun"))
				continue;
			snprintf(p, sizeof(p), "%s/proc/%s/fdinfo/%s", procroot,
				 de->d_name, f->d_name);
			if (fd_is_tap(p, name))
				pid = atoi(de->d_name);
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return pid;
}
