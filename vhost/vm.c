#define _GNU_SOURCE
#include "vm.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define START_INFO_GPA		 0x6000u
#define CMDLINE_GPA		 0x7000u
#define CMDLINE_MAX		 2048u
#define PVH_MAGIC		 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18

int vm_create(struct vm *vm, size_t mem_size, struct nf_err *e)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm = vm->fd = vm->vcpu = -1;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return nf_errf(e, errno,
			       "cannot open /dev/kvm: %s (is KVM enabled, and "
			       "are you in group kvm?)",
			       strerror(errno));
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return nf_errf(e, ENOTSUP, "unexpected KVM API version");
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return nf_errf(e, errno, "KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0 ||
	    ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return nf_errf(e, errno, "in-kernel irqchip: %s",
			       strerror(errno));
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return nf_errf(e, errno, "in-kernel PIT: %s", strerror(errno));
	if (mem_size < (2u << 20) || mem_size > (3ull << 30))
		return nf_errf(e, EINVAL,
			       "guest memory must be 2 MiB to 3 GiB (below the "
			       "32-bit PCI hole)");
	vm->mem_size = mem_size;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return nf_errf(e, errno, "cannot map %zu bytes of guest RAM",
			       mem_size);
	}
	struct kvm_userspace_memory_region r = {.slot = 0,
						.guest_phys_addr = 0,
						.memory_size = mem_size,
						.userspace_addr =
							(uintptr_t)vm->mem};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return nf_errf(e, errno, "KVM_SET_USER_MEMORY_REGION: %s",
			       strerror(errno));
	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	int msz = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu < 0 || msz <= 0)
		return nf_errf(e, errno, "KVM_CREATE_VCPU: %s",
			       strerror(errno));
	vm->run = mmap(NULL, (size_t)msz, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		return nf_errf(e, errno, "cannot map kvm_run: %s",
			       strerror(errno));
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm >= 0)
		close(vm->kvm);
}

void *vm_guest(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

/* --------------------------------------------------------------- boot */

struct elf_seg {
	uint64_t paddr, off, filesz, memsz;
	uint32_t type;
};

static int elf_segments(const uint8_t *img, size_t len, struct elf_seg *segs,
			size_t max, size_t *n, const char *path,
			struct nf_err *e)
{
	*n = 0;
	if (len < sizeof(Elf32_Ehdr) || memcmp(img, ELFMAG, SELFMAG))
		return nf_errf(e, ENOEXEC, "%s is not an ELF file", path);
	bool is64 = img[EI_CLASS] == ELFCLASS64;
	const Elf64_Ehdr *h64 = (const void *)img;
	const Elf32_Ehdr *h32 = (const void *)img;
	if (is64 && len < sizeof(Elf64_Ehdr))
		return nf_errf(e, ENOEXEC, "%s: truncated ELF header", path);
	uint64_t phoff = is64 ? h64->e_phoff : h32->e_phoff;
	unsigned phnum = is64 ? h64->e_phnum : h32->e_phnum,
		 phsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (phoff > len || (uint64_t)phnum * phsz > len - phoff)
		return nf_errf(e, ENOEXEC, "%s: program headers out of bounds",
			       path);
	for (unsigned i = 0; i < phnum && *n < max; i++) {
		const uint8_t *p = img + phoff + (uint64_t)i * phsz;
		struct elf_seg s;
		if (is64) {
			const Elf64_Phdr *ph = (const void *)p;
			s = (struct elf_seg){ph->p_paddr, ph->p_offset,
					     ph->p_filesz, ph->p_memsz,
					     ph->p_type};
		} else {
			const Elf32_Phdr *ph = (const void *)p;
			s = (struct elf_seg){ph->p_paddr, ph->p_offset,
					     ph->p_filesz, ph->p_memsz,
					     ph->p_type};
		}
		if (s.off > len || s.filesz > len - s.off || s.filesz > s.memsz)
			return nf_errf(e, ENOEXEC,
				       "%s: segment %u out of bounds", path, i);
		segs[(*n)++] = s;
	}
	return 0;
}

/* The PVH entry from a PT_NOTE: name "Xen", type 18, 4- or 8-byte addr. */
static int pvh_entry(const uint8_t *img, const struct elf_seg *s,
		     uint64_t *entry)
{
	for (uint64_t o = 0; o + 12 <= s->filesz;) {
		const uint32_t *nh = (const void *)(img + s->off + o);
		uint64_t namesz = (nh[0] + 3) & ~3ull,
			 descsz = (nh[1] + 3) & ~3ull;
		if (12 + namesz + descsz > s->filesz - o)
			break;
		const uint8_t *name = img + s->off + o + 12,
			      *desc = name + namesz;
		if (nh[2] == XEN_ELFNOTE_PHYS32_ENTRY && nh[0] == 4 &&
		    !memcmp(name, "Xen", 4) && (nh[1] == 4 || nh[1] == 8)) {
			uint64_t v = 0;
			memcpy(&v, desc, nh[1]);
			*entry = v;
			return 0;
		}
		o += 12 + namesz + descsz;
	}
	return -ENOENT;
}

static int set_pvh_cpu(struct vm *vm, uint64_t entry, struct nf_err *e)
{
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = entry, .rbx = START_INFO_GPA, .rflags = 2};
	if (ioctl(vm->vcpu, KVM_GET_SREGS, &s) < 0)
		return nf_errf(e, errno, "KVM_GET_SREGS: %s", strerror(errno));
	struct kvm_segment code = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = 0x8,
				   .type = 0xb,
				   .present = 1,
				   .dpl = 0,
				   .db = 1,
				   .s = 1,
				   .l = 0,
				   .g = 1},
			   data = code;
	data.type = 0x3;
	data.selector = 0x10;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr0 = 0x11; /* PE | ET: protected mode, paging off */
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &s) < 0 ||
	    ioctl(vm->vcpu, KVM_SET_REGS, &r) < 0)
		return nf_errf(e, errno, "setting the boot CPU state: %s",
			       strerror(errno));
	return 0;
}

int vm_load_pvh(struct vm *vm, const char *path, const char *cmdline,
		struct nf_err *e)
{
	char *img = NULL;
	size_t len;
	struct elf_seg segs[64];
	size_t nsegs;
	uint64_t entry = 0;
	bool have_entry = false;
	int r = nf_read_file(path, vm->mem_size, &img, &len, e);
	if (r < 0)
		return r;
	r = elf_segments((const uint8_t *)img, len, segs, 64, &nsegs, path, e);
	for (size_t i = 0; r == 0 && i < nsegs; i++)
		if (segs[i].type == PT_NOTE && !have_entry)
			have_entry = pvh_entry((const uint8_t *)img, &segs[i],
					       &entry) == 0;
	if (r == 0 && !have_entry)
		r = nf_errf(e, ENOEXEC,
			    "%s has no PVH entry note "
			    "(XEN_ELFNOTE_PHYS32_ENTRY); netvm boots ELF "
			    "kernels with PVH support",
			    path);
	for (size_t i = 0; r == 0 && i < nsegs; i++) {
		if (segs[i].type != PT_LOAD)
			continue;
		uint8_t *dst = vm_guest(vm, segs[i].paddr, segs[i].memsz);
		if (!dst || segs[i].paddr < 0x100000) {
			r = nf_errf(
				e, ENOEXEC,
				"%s: segment at %#llx (%llu bytes) does not "
				"fit guest RAM above 1 MiB (--mem is %zu "
				"MiB)",
				path, (unsigned long long)segs[i].paddr,
				(unsigned long long)segs[i].memsz,
				vm->mem_size >> 20);
			break;
		}
		memcpy(dst, img + segs[i].off, segs[i].filesz);
		memset(dst + segs[i].filesz, 0, segs[i].memsz - segs[i].filesz);
	}
	free(img);
	if (r < 0)
		return r;
	size_t cl = cmdline ? strlen(cmdline) : 0;
	if (cl >= CMDLINE_MAX)
		return nf_errf(e, E2BIG, "the command line is over %u bytes",
			       CMDLINE_MAX - 1);
	uint32_t si[14] = {PVH_MAGIC, 1, 0, 0};
	uint64_t cmd = cl ? CMDLINE_GPA : 0;
	memcpy(&si[6], &cmd, 8); /* cmdline_paddr */
	memcpy(vm_guest(vm, START_INFO_GPA, sizeof(si)), si, sizeof(si));
	memcpy(vm_guest(vm, CMDLINE_GPA, CMDLINE_MAX), cmdline ? cmdline : "",
	       cl + 1);
	return set_pvh_cpu(vm, entry, e);
}

/* ----------------------------------------------------------- devices */

/* 8250 UART, polled: enough for a console. */
static void serial_io(struct vm *vm, uint16_t port, bool out, uint8_t *v)
{
	unsigned reg = port - 0x3f8;
	if (out) {
		if (reg == 0 && !(vm->serial_lcr & 0x80)) {
			if (vm->console) {
				fputc(*v, vm->console);
				if (*v == '\n')
					fflush(vm->console);
			}
		} else if (reg == 1 && !(vm->serial_lcr & 0x80)) {
			vm->serial_ier = *v;
		} else if (reg == 3) {
			vm->serial_lcr = *v;
		} else if (reg == 7) {
			vm->serial_scr = *v;
		}
		return;
	}
	switch (reg) {
	case 1: *v = vm->serial_lcr & 0x80 ? 0 : vm->serial_ier; break;
	case 2: *v = 0x01; break; /* IIR: no interrupt pending */
	case 3: *v = vm->serial_lcr; break;
	case 5: *v = 0x60; break; /* LSR: transmitter empty */
	case 6: *v = 0xb0; break; /* MSR: DCD, DSR, CTS */
	case 7: *v = vm->serial_scr; break;
	default: *v = 0;
	}
}

/* PCI config mechanism #1: a host bridge at 00:00.0, nothing else yet. */
static uint32_t pci_config_read(struct vm *vm)
{
	uint32_t a = vm->pci_addr;
	unsigned bus = (a >> 16) & 0xff, dev = (a >> 11) & 0x1f,
		 fn = (a >> 8) & 7, reg = a & 0xfc;
	if (!(a & 0x80000000u) || bus || dev || fn)
		return 0xffffffffu;
	switch (reg) {
	case 0x00: return 0x29c08086u; /* Intel host bridge */
	case 0x08: return 0x06000000u; /* class: host bridge */
	default: return 0;
	}
}

static int io_exit(struct vm *vm, enum vm_exit *how)
{
	struct kvm_run *run = vm->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint16_t port = run->io.port;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (port >= 0x3f8 && port <= 0x3ff && run->io.size == 1) {
			serial_io(vm, port, out, data);
		} else if (port == 0x64) { /* i8042 */
			if (out && *data == 0xfe) {
				*how = VM_RESET;
				return 1;
			}
			if (!out)
				*data = 0x00; /* no data, input buffer empty */
		} else if (port == 0x604 && out && run->io.size == 2) {
			uint16_t v;
			memcpy(&v, data, 2);
			if (v & 0x2000) { /* SLP_EN */
				*how = VM_POWEROFF;
				return 1;
			}
		} else if (port == 0xcf8 && run->io.size == 4) {
			if (out)
				memcpy(&vm->pci_addr, data, 4);
			else
				memcpy(data, &vm->pci_addr, 4);
		} else if (port >= 0xcfc && port <= 0xcff) {
			uint32_t v =
				pci_config_read(vm) >> ((port - 0xcfc) * 8);
			if (!out)
				memcpy(data, &v, run->io.size);
		} else if (!out) {
			memset(data, 0xff, run->io.size); /* nothing there */
		}
	}
	return 0;
}

enum vm_exit vm_run(struct vm *vm, struct nf_err *e)
{
	enum vm_exit how = VM_ERROR;
	for (;;) {
		if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			nf_errf(e, errno, "KVM_RUN: %s", strerror(errno));
			return VM_ERROR;
		}
		switch (vm->run->exit_reason) {
		case KVM_EXIT_IO:
			if (io_exit(vm, &how))
				return how;
			break;
		case KVM_EXIT_MMIO:
			if (!vm->run->mmio.is_write)
				memset(vm->run->mmio.data, 0xff,
				       vm->run->mmio.len);
			break;
		case KVM_EXIT_SHUTDOWN:
			nf_errf(e, EIO, "the guest triple-faulted");
			return VM_SHUTDOWN;
		case KVM_EXIT_INTERNAL_ERROR:
			/* an exception that cannot be delivered is how some
			 * KVMs (PVM here) report what VMX/SVM call a triple
			 * fault */
			if (vm->run->internal.suberror ==
			    KVM_INTERNAL_ERROR_DELIVERY_EV) {
				nf_errf(e, EIO,
					"the guest crashed: an exception could "
					"not be delivered (triple fault)");
				return VM_SHUTDOWN;
			}
			nf_errf(e, EIO,
				"KVM internal error, suberror %u%s: the guest "
				"ran into what KVM cannot handle",
				vm->run->internal.suberror,
				vm->run->internal.suberror ==
						KVM_INTERNAL_ERROR_EMULATION
					? " (instruction emulation failed)"
					: "");
			return VM_ERROR;
		case KVM_EXIT_SYSTEM_EVENT:
			return vm->run->system_event.type ==
					       KVM_SYSTEM_EVENT_RESET
				       ? VM_RESET
				       : VM_POWEROFF;
		default:
			nf_errf(e, EIO, "unexpected KVM exit %u",
				vm->run->exit_reason);
			return VM_ERROR;
		}
	}
}
