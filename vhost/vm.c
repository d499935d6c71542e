#define _GNU_SOURCE
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MSR_IA32_MISC_ENABLE 0x1a0

static int setup_cpu(struct vm *vm, struct vm_cpu *c, int msz,
		     struct kvm_cpuid2 *cpuid, struct nf_err *e)
{
	c->vm = vm;
	c->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)c->id);
	if (c->fd < 0)
		return nf_errf(e, errno, "KVM_CREATE_VCPU %u: %s", c->id,
			       strerror(errno));
	c->run = mmap(NULL, (size_t)msz, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return nf_errf(e, errno, "cannot map kvm_run: %s",
			       strerror(errno));
	}
	/* KVM's CPUID, with this vCPU's APIC ID and the hypervisor bit (so
	 * guests find KVM's leaves and use kvm-clock) */
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *x = &cpuid->entries[i];
		if (x->function == 1) {
			x->ebx = (x->ebx & 0x00ffffff) | c->id << 24;
			x->ecx |= 1u << 31;
		} else if (x->function == 0xb || x->function == 0x1f) {
			x->edx = c->id;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		return nf_errf(e, errno, "KVM_SET_CPUID2: %s", strerror(errno));
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry m[1];
	} msrs = {{.nmsrs = 1}, {{.index = MSR_IA32_MISC_ENABLE, .data = 1}}};
	if (ioctl(c->fd, KVM_SET_MSRS, &msrs) < 0)
		nf_debug("KVM_SET_MSRS: %s", strerror(errno));
	return 0;
}

static int set_routes(struct vm *vm);
static void pci_host_io(struct vm *vm, void *dev, struct vm_io *io);

int vm_create(struct vm *vm, size_t mem_size, unsigned ncpus, int kvm,
	      struct nf_err *e)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm = vm->fd = vm->exit_fd = -1;
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		vm->cpu[i].fd = -1;
	pthread_mutex_init(&vm->io_lock, NULL);
	pthread_mutex_init(&vm->route_lock, NULL);
	vm->next_gsi = 24;
	if (ncpus < 1 || ncpus > VM_MAX_CPUS)
		return nf_errf(e, EINVAL, "--cpus must be 1 to %d",
			       VM_MAX_CPUS);
	if (mem_size < (2u << 20) || mem_size > (3ull << 30))
		return nf_errf(e, EINVAL,
			       "guest memory must be 2 MiB to 3 GiB (below the "
			       "32-bit PCI hole)");
	vm->kind = nf_kvm_kind("");
	vm->kvm = kvm >= 0 ? kvm : open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return nf_errf(e, errno,
			       "cannot open /dev/kvm: %s (is KVM enabled, and "
			       "are you in group kvm?)",
			       strerror(errno));
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return nf_errf(e, ENOTSUP, "unexpected KVM API version");
	static const int need[] = {KVM_CAP_IRQCHIP,   KVM_CAP_IRQ_ROUTING,
				   KVM_CAP_IRQFD,     KVM_CAP_IOEVENTFD,
				   KVM_CAP_EXT_CPUID, KVM_CAP_USER_MEMORY};
	for (size_t i = 0; i < NF_ARRAY_SIZE(need); i++)
		if (ioctl(vm->kvm, KVM_CHECK_EXTENSION, need[i]) <= 0)
			return nf_errf(e, ENOTSUP,
				       "this KVM lacks capability %d that "
				       "netvm needs",
				       need[i]);
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return nf_errf(e, errno, "KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0 ||
	    ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return nf_errf(e, errno, "in-kernel irqchip: %s",
			       strerror(errno));
	uint64_t idmap = 0xfffbc000ull;
	ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return nf_errf(e, errno, "in-kernel PIT: %s", strerror(errno));
	vm->mem_size = mem_size;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return nf_errf(e, errno, "cannot map %zu bytes of guest RAM",
			       mem_size);
	}
	madvise(vm->mem, mem_size, MADV_MERGEABLE);
	struct kvm_userspace_memory_region r = {.slot = 0,
						.guest_phys_addr = 0,
						.memory_size = mem_size,
						.userspace_addr =
							(uintptr_t)vm->mem};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return nf_errf(e, errno, "KVM_SET_USER_MEMORY_REGION: %s",
			       strerror(errno));
	int msz = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (msz <= 0)
		return nf_errf(e, errno, "KVM_GET_VCPU_MMAP_SIZE: %s",
			       strerror(errno));
	struct kvm_cpuid2 *cpuid = nf_xcalloc(
		1, sizeof(*cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
	cpuid->nent = 256;
	if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		free(cpuid);
		return nf_errf(e, errno, "KVM_GET_SUPPORTED_CPUID: %s",
			       strerror(errno));
	}
	int rc = 0;
	for (unsigned i = 0; i < ncpus && rc == 0; i++) {
		vm->cpu[i].id = i;
		rc = setup_cpu(vm, &vm->cpu[i], msz, cpuid, e);
		vm->ncpus = i + 1;
	}
	free(cpuid);
	if (rc < 0)
		return rc;
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_fd < 0)
		return nf_errf(e, errno, "eventfd: %s", strerror(errno));
	if (set_routes(vm) < 0)
		return nf_errf(e, errno, "KVM_SET_GSI_ROUTING: %s",
			       strerror(errno));
	static const struct vm_pio pci_host = {"PCI host bridge", 0xcf8, 8,
					       pci_host_io, NULL};
	if ((rc = vm_add_pio(vm, &pci_host, e)) < 0)
		return rc;
	return vm_add_legacy(vm, e);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		if (vm->cpu[i].fd >= 0)
			close(vm->cpu[i].fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm >= 0)
		close(vm->kvm);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	vm->fd = vm->kvm = vm->exit_fd = -1;
	vm->mem = NULL;
	free(vm->legacy);
	vm->legacy = NULL;
}

void *vm_guest(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

size_t vm_guest_resident_kib(struct vm *vm)
{
	size_t pages = vm->mem_size / 4096, n = 0;
	unsigned char *v = malloc(pages);
	if (v && mincore(vm->mem, vm->mem_size, v) == 0)
		for (size_t i = 0; i < pages; i++)
			n += v[i] & 1;
	free(v);
	return n * 4;
}

/* -------------------------------------------------------- interrupts */

/* The whole routing table: KVM's defaults for the irqchip pins (0-15 on
 * the PICs and the I/O APIC, 16-23 on the I/O APIC) and our MSI routes. */
static int set_routes(struct vm *vm)
{
	struct kvm_irq_routing *t = nf_xcalloc(
		1, sizeof(*t) + (40 + VM_MAX_GSI) *
					sizeof(struct kvm_irq_routing_entry));
	unsigned n = 0;
	for (unsigned g = 0; g < 24; g++) {
		if (g < 16)
			t->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = g,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = {g < 8 ? KVM_IRQCHIP_PIC_MASTER
						    : KVM_IRQCHIP_PIC_SLAVE,
					      g % 8}};
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = g,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = {KVM_IRQCHIP_IOAPIC, g}};
	}
	for (unsigned g = 24; g < VM_MAX_GSI; g++)
		if (vm->msi[g].used)
			t->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = g,
				.type = KVM_IRQ_ROUTING_MSI,
				.u.msi = {vm->msi[g].addr_lo,
					  vm->msi[g].addr_hi,
					  vm->msi[g].data,
					  {0}}};
	t->nr = n;
	int r = ioctl(vm->fd, KVM_SET_GSI_ROUTING, t);
	free(t);
	return r < 0 ? -errno : 0;
}

int vm_irq_line(struct vm *vm, unsigned gsi, bool level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};
	return ioctl(vm->fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

unsigned vm_alloc_gsi(struct vm *vm)
{
	pthread_mutex_lock(&vm->route_lock);
	unsigned g = vm->next_gsi < VM_MAX_GSI ? vm->next_gsi++ : 0;
	pthread_mutex_unlock(&vm->route_lock);
	return g;
}

int vm_set_msi_route(struct vm *vm, unsigned gsi, bool used, uint32_t lo,
		     uint32_t hi, uint32_t data)
{
	if (gsi < 24 || gsi >= VM_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&vm->route_lock);
	int r = 0;
	if (vm->msi[gsi].used != used || vm->msi[gsi].addr_lo != lo ||
	    vm->msi[gsi].addr_hi != hi || vm->msi[gsi].data != data) {
		vm->msi[gsi].used = used;
		vm->msi[gsi].addr_lo = lo;
		vm->msi[gsi].addr_hi = hi;
		vm->msi[gsi].data = data;
		r = set_routes(vm);
	}
	pthread_mutex_unlock(&vm->route_lock);
	return r;
}

int vm_signal_msi(struct vm *vm, uint32_t lo, uint32_t hi, uint32_t data)
{
	struct kvm_msi m = {.address_lo = lo, .address_hi = hi, .data = data};
	return ioctl(vm->fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, int fd, unsigned gsi, bool assign)
{
	struct kvm_irqfd f = {.fd = (uint32_t)fd,
			      .gsi = gsi,
			      .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN};
	return ioctl(vm->fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t gpa, unsigned len, bool assign)
{
	struct kvm_ioeventfd f = {
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN};
	return ioctl(vm->fd, KVM_IOEVENTFD, &f) < 0 ? -errno : 0;
}

/* ----------------------------------------------------- port I/O table */

int vm_add_pio(struct vm *vm, const struct vm_pio *d, struct nf_err *e)
{
	if (vm->npio >= VM_MAX_PIO)
		return nf_errf(e, ENOSPC, "at most %d port I/O devices",
			       VM_MAX_PIO);
	for (unsigned i = 0; i < vm->npio; i++) {
		const struct vm_pio *o = &vm->pio[i];
		if (d->base < o->base + o->len && o->base < d->base + d->len)
			return nf_errf(e, EEXIST,
				       "%s at 0x%x overlaps %s at 0x%x",
				       d->name, d->base, o->name, o->base);
	}
	vm->pio[vm->npio++] = *d;
	return 0;
}

static const struct vm_pio *pio_find(struct vm *vm, uint16_t port,
				     unsigned size)
{
	for (unsigned i = 0; i < vm->npio; i++) {
		const struct vm_pio *d = &vm->pio[i];
		if (port >= d->base && port + size <= d->base + d->len)
			return d;
	}
	return NULL;
}

static struct vm_pci *pci_find(struct vm *vm, unsigned slot)
{
	for (unsigned i = 0; i < vm->npci; i++)
		if (vm->pci[i]->slot == slot)
			return vm->pci[i];
	return NULL;
}

/* Config mechanism #1. The host bridge lives at 00:00.0; BAR0 of each
 * device is handled here (sizing and placement), the rest by the device. */
static uint32_t pci_read(struct vm *vm)
{
	uint32_t a = vm->pci_addr;
	unsigned bus = (a >> 16) & 0xff, dev = (a >> 11) & 0x1f,
		 fn = (a >> 8) & 7, reg = a & 0xfc;
	if (!(a & 0x80000000u) || bus || fn)
		return 0xffffffffu;
	if (dev == 0)
		return reg == 0 ? 0x29c08086u : reg == 8 ? 0x06000000u : 0;
	struct vm_pci *d = pci_find(vm, dev);
	if (!d)
		return 0xffffffffu;
	if (reg == 0x10)
		return d->bar;
	if (reg > 0x10 && reg < 0x28)
		return 0;
	return d->cfg_read(d, reg);
}

static void pci_write(struct vm *vm, unsigned off, uint32_t v, unsigned size)
{
	uint32_t a = vm->pci_addr;
	unsigned dev = (a >> 11) & 0x1f, reg = (a & 0xfc) + off;
	if (!(a & 0x80000000u) || (a & 0x00ff0700u) || !dev)
		return;
	struct vm_pci *d = pci_find(vm, dev);
	if (!d || ((reg & ~3u) > 0x10 && (reg & ~3u) < 0x28))
		return;
	if ((reg & ~3u) == 0x10) {
		if (size == 4)
			d->bar = v & ~(d->bar_size - 1);
		return;
	}
	d->cfg_write(d, reg, v, size);
}

/* The host bridge's ports: the address at 0xcf8 (a dword), the data at
 * 0xcfc-0xcff. */
static void pci_host_io(struct vm *vm, void *dev, struct vm_io *io)
{
	(void)dev;
	if (io->off < 4) { /* the address: dword accesses at 0xcf8 only */
		if (io->off || io->size != 4) {
			if (!io->out)
				memset(io->data, 0xff, io->size);
		} else if (io->out)
			memcpy(&vm->pci_addr, io->data, 4);
		else
			memcpy(io->data, &vm->pci_addr, 4);
		return;
	}
	unsigned off = io->off - 4;
	if (io->out) {
		uint32_t v = 0;
		memcpy(&v, io->data, io->size);
		pci_write(vm, off, v, io->size);
	} else {
		uint32_t v = pci_read(vm) >> (off * 8);
		memcpy(io->data, &v, io->size);
	}
}

int vm_add_pci(struct vm *vm, struct vm_pci *d, struct nf_err *e)
{
	if (vm->npci >= VM_MAX_PCI)
		return nf_errf(e, ENOSPC, "at most %d PCI devices", VM_MAX_PCI);
	d->slot = vm->npci + 1;
	d->bar = VM_PCI_MMIO + vm->npci * 0x100000u;
	vm->pci[vm->npci++] = d;
	return 0;
}

static void end(struct vm *vm, enum vm_exit how, const char *msg)
{
	pthread_mutex_lock(&vm->io_lock);
	if (vm->exit == VM_RUNNING) {
		vm->exit = how;
		snprintf(vm->exit_msg, sizeof(vm->exit_msg), "%s", msg);
		uint64_t one = 1;
		if (write(vm->exit_fd, &one, 8) < 0)
			nf_debug("exit eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&vm->io_lock);
}

/* Port I/O; true when the guest asked to stop. */
/* A port access: the device registered there handles each of its
 * repetitions (rep ins/outs), under io_lock; reads of a port no device
 * has return all ones. */
static bool io_exit(struct vm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct vm_io io = {.out = run->io.direction == KVM_EXIT_IO_OUT,
			   .size = run->io.size,
			   .stop = VM_RUNNING};
	pthread_mutex_lock(&vm->io_lock);
	const struct vm_pio *d = pio_find(vm, run->io.port, run->io.size);
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		io.data = data;
		if (d) {
			io.off = run->io.port - d->base;
			d->io(vm, d->dev, &io);
		} else if (!io.out) {
			memset(data, 0xff, run->io.size);
		}
	}
	pthread_mutex_unlock(&vm->io_lock);
	if (io.idle_us) /* the vCPU rests, at most 10 ms at a time */
		usleep(io.idle_us < 10000 ? io.idle_us : 10000);
	if (io.stop != VM_RUNNING)
		end(vm, io.stop, "");
	return io.stop != VM_RUNNING;
}

static void mmio_exit(struct vm *vm, struct kvm_run *run)
{
	uint64_t a = run->mmio.phys_addr;
	unsigned len = run->mmio.len;
	for (unsigned i = 0; i < vm->npci; i++) {
		struct vm_pci *d = vm->pci[i];
		if (a >= d->bar && a + len <= (uint64_t)d->bar + d->bar_size) {
			d->mmio(d, a - d->bar, run->mmio.data, len,
				run->mmio.is_write);
			return;
		}
	}
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
}

/* Handles one exit; false when this vCPU is done. */
static bool handle_exit(struct vm_cpu *c)
{
	struct vm *vm = c->vm;
	struct kvm_run *run = c->run;
	char msg[160];
	switch (run->exit_reason) {
	case KVM_EXIT_IO: return !io_exit(vm, run);
	case KVM_EXIT_MMIO: mmio_exit(vm, run); return true;
	case KVM_EXIT_HLT: return true;
	case KVM_EXIT_SHUTDOWN:
		end(vm, VM_SHUTDOWN, "the guest triple-faulted");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		/* an exception that cannot be delivered is how some KVMs
		 * (PVM here) report what VMX/SVM call a triple fault */
		if (run->internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV) {
			end(vm, VM_SHUTDOWN,
			    "the guest crashed: an exception could not be "
			    "delivered (triple fault)");
			return false;
		}
		snprintf(msg, sizeof(msg),
			 "KVM internal error on vCPU %u, suberror %u%s: the "
			 "guest ran into what KVM cannot handle",
			 c->id, run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				 ? " (instruction emulation failed)"
				 : "");
		end(vm, VM_ERROR, msg);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		end(vm,
		    run->system_event.type == KVM_SYSTEM_EVENT_RESET
			    ? VM_RESET
			    : VM_POWEROFF,
		    "");
		return false;
	default:
		snprintf(msg, sizeof(msg), "unexpected KVM exit %u on vCPU %u",
			 run->exit_reason, c->id);
		end(vm, VM_ERROR, msg);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vm_cpu *c = arg;
	struct vm *vm = c->vm;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	for (;;) {
		if (__atomic_load_n(&vm->exit, __ATOMIC_ACQUIRE) != VM_RUNNING)
			break;
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char msg[96];
			snprintf(msg, sizeof(msg), "KVM_RUN: %s",
				 strerror(errno));
			end(vm, VM_ERROR, msg);
			break;
		}
		if (c->id == 0 && !vm->first_exit_ns)
			vm->first_exit_ns = nf_now_ns();
		if (!handle_exit(c))
			break;
	}
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig;
}

int vm_start(struct vm *vm, struct nf_err *e)
{
	struct sigaction sa = {.sa_handler = on_kick};
	sigaction(SIGUSR1, &sa, NULL);
	/* vCPU threads inherit a blocked SIGUSR1 and unblock it themselves;
	 * the rest of the process never sees it */
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	vm->started_ns = nf_now_ns();
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int r = pthread_create(&vm->cpu[i].thread, NULL, vcpu_thread,
				       &vm->cpu[i]);
		if (r) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			vm_stop(vm);
			return nf_errf(e, r, "cannot start vCPU %u: %s", i,
				       strerror(r));
		}
		vm->cpu[i].started = true;
	}
	return 0;
}

void vm_stop(struct vm *vm)
{
	end(vm, VM_STOPPED, "stopped by the host");
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (!vm->cpu[i].started)
			continue;
		vm->cpu[i].run->immediate_exit = 1;
		pthread_kill(vm->cpu[i].thread, SIGUSR1);
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->cpu[i].started)
			pthread_join(vm->cpu[i].thread, NULL);
		vm->cpu[i].started = false;
	}
}
