/* Booting: Linux bzImages through the x86 boot protocol (32-bit entry,
 * boot_params with the e820 map, command line and initrd) and ELF kernels
 * through their PVH note (hvm_start_info with the memory map and the initrd
 * as module 0); both get a GDT with flat 0x10/0x18 segments, ACPI tables
 * (RSDP found by scan, boot_params or hvm_start_info) and an MP table, each
 * describing every vCPU and the I/O APIC (ACPI for kernels built without
 * MP table support, like Debian's cloud kernels). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"

#define GDT_GPA			 0x500u
#define START_INFO_GPA		 0x6000u
#define MEMMAP_GPA		 0x6100u
#define MODLIST_GPA		 0x6200u
#define CMDLINE_GPA		 0x7000u
#define CMDLINE_MAX		 2048u
#define ZEROPAGE_GPA		 0x10000u
#define ACPI_GPA		 0xe0000u /* RSDP first, then the tables */
#define MPTABLE_GPA		 0xf0000u
#define KERNEL_GPA		 0x100000u
#define PVH_MAGIC		 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define E820_RAM		 1
#define E820_RESERVED		 2

struct e820 {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/* RAM below the EBDA, the BIOS area (ACPI tables, MP table), RAM from 1M. */
static unsigned memory_map(const struct vm *vm, struct e820 m[3])
{
	m[0] = (struct e820){0, 0x9fc00, E820_RAM};
	m[1] = (struct e820){ACPI_GPA, 0x20000, E820_RESERVED};
	m[2] = (struct e820){KERNEL_GPA, vm->mem_size - KERNEL_GPA, E820_RAM};
	return 3;
}

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
	/* headers are copied out, never read in place: their offsets are
	 * the image's to choose, aligned or not */
	bool is64 = img[EI_CLASS] == ELFCLASS64;
	Elf64_Ehdr h64;
	Elf32_Ehdr h32;
	if (is64 && len < sizeof(Elf64_Ehdr))
		return nf_errf(e, ENOEXEC, "%s: truncated ELF header", path);
	if (is64)
		memcpy(&h64, img, sizeof(h64));
	else
		memcpy(&h32, img, sizeof(h32));
	uint64_t phoff = is64 ? h64.e_phoff : h32.e_phoff;
	unsigned phnum = is64 ? h64.e_phnum : h32.e_phnum,
		 phsz = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (phoff > len || (uint64_t)phnum * phsz > len - phoff)
		return nf_errf(e, ENOEXEC, "%s: program headers out of bounds",
			       path);
	for (unsigned i = 0; i < phnum && *n < max; i++) {
		const uint8_t *p = img + phoff + (uint64_t)i * phsz;
		struct elf_seg s;
		if (is64) {
			Elf64_Phdr ph;
			memcpy(&ph, p, sizeof(ph));
			s = (struct elf_seg){ph.p_paddr, ph.p_offset,
					     ph.p_filesz, ph.p_memsz,
					     ph.p_type};
		} else {
			Elf32_Phdr ph;
			memcpy(&ph, p, sizeof(ph));
			s = (struct elf_seg){ph.p_paddr, ph.p_offset,
					     ph.p_filesz, ph.p_memsz,
					     ph.p_type};
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
		uint32_t nh[3];
		memcpy(nh, img + s->off + o, sizeof(nh));
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

/* 32-bit protected mode, paging off, flat segments from our GDT, as both
 * the PVH entry and the 32-bit boot protocol want. */
static int set_boot_cpu(struct vm *vm, uint64_t entry, uint32_t ebx,
			uint32_t esi, struct nf_err *e)
{
	static const uint64_t gdt[4] = {0, 0, 0x00cf9b000000ffffull,
					0x00cf93000000ffffull};
	memcpy(vm_guest(vm, GDT_GPA, sizeof(gdt)), gdt, sizeof(gdt));
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = entry, .rbx = ebx, .rsi = esi, .rflags = 2};
	int fd = vm->cpu[0].fd;
	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return nf_errf(e, errno, "KVM_GET_SREGS: %s", strerror(errno));
	struct kvm_segment code = {.base = 0,
				   .limit = 0xffffffff,
				   .selector = 0x10,
				   .type = 0xb,
				   .present = 1,
				   .dpl = 0,
				   .db = 1,
				   .s = 1,
				   .l = 0,
				   .g = 1},
			   data = code;
	data.type = 0x3;
	data.selector = 0x18;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = GDT_GPA;
	s.gdt.limit = sizeof(gdt) - 1;
	s.cr0 = 0x11; /* PE | ET: protected mode, paging off */
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0 || ioctl(fd, KVM_SET_REGS, &r) < 0)
		return nf_errf(e, errno, "setting the boot CPU state: %s",
			       strerror(errno));
	return 0;
}

/* The initrd as loaded (read by the caller): bytes, length, its name. */
struct initrd {
	const char *img, *name;
	size_t len;
};

static int load_initrd(struct vm *vm, const struct initrd *rd, uint64_t lo,
		       uint64_t max, uint64_t *gpa, uint64_t *size,
		       struct nf_err *e)
{
	uint64_t top = max + 1 < vm->mem_size ? max + 1 : vm->mem_size;
	if (rd->len > top || ((top - rd->len) & ~0xfffull) < lo)
		return nf_errf(e, ENOMEM,
			       "the initrd %s (%zu bytes) does not fit between "
			       "the kernel and %#llx (--mem is %zu MiB)",
			       rd->name, rd->len, (unsigned long long)top,
			       vm->mem_size >> 20);
	*gpa = (top - rd->len) & ~0xfffull;
	*size = rd->len;
	memcpy(vm_guest(vm, *gpa, rd->len), rd->img, rd->len);
	return 0;
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return (uint8_t)-s;
}

/* ACPI for kernels without MP table support (Debian's cloud kernels):
 * RSDP -> XSDT -> FADT (PM1a event/control blocks at VM_PM_BASE, SCI on
 * IRQ 9 for the power button, no 8042, reset register = the i8042 reset; not
 * hardware-reduced, so the legacy PIC and ISA IRQs stay) -> FACS, DSDT
 * (_S5 so
 * poweroff works), and a MADT with every vCPU and the I/O APIC. */
static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
	t[8] = rev;
	memcpy(t + 10, "NETVM NETFABRC", 14); /* OEM id, OEM table id */
	memcpy(t + 24, "\x01\0\0\0NFAB\x01\0\0\0", 12);
}

static void acpi_gas_io(uint8_t *g, uint16_t port)
{
	uint64_t a = port;
	g[0] = 1, g[1] = 8, g[2] = 0, g[3] = 1; /* I/O, 8 bits, byte access */
	memcpy(g + 4, &a, 8);
}

static void write_acpi(struct vm *vm)
{
	uint8_t *base = vm_guest(vm, ACPI_GPA, 0x10000);
	memset(base, 0, 0x10000);
	const uint32_t xsdt = ACPI_GPA + 0x40, fadt = ACPI_GPA + 0x100,
		       madt = ACPI_GPA + 0x300, dsdt = ACPI_GPA + 0x800;
	/* DSDT: Name (_S5, Package () {5, 5, 0, 0})
	 *       Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId
	 *         ("PNP0A03")) Name (_UID, 0) Name (_BBN, 0) } }
	 * (the host bridge, so Linux scans bus 0 behind it) */
	static const uint8_t aml[] = {
		0x08, '_',  'S',  '5',	'_',  0x12, 0x08, 0x04, 0x0a, 0x05,
		0x0a, 0x05, 0x00, 0x00, 0x10, 0x23, 0x5c, '_',	'S',  'B',
		'_',  0x5b, 0x82, 0x1b, 'P',  'C',  'I',  '0',	0x08, '_',
		'H',  'I',  'D',  0x0c, 0x41, 0xd0, 0x0a, 0x03, 0x08, '_',
		'U',  'I',  'D',  0x00, 0x08, '_',  'B',  'B',	'N',  0x00};
	uint8_t *t = base + (dsdt - ACPI_GPA);
	acpi_header(t, "DSDT", 36 + sizeof(aml), 2);
	memcpy(t + 36, aml, sizeof(aml));
	t[9] = checksum(t, 36 + sizeof(aml));
	/* FADT 6.0 */
	t = base + (fadt - ACPI_GPA);
	acpi_header(t, "FACP", 276, 6);
	uint32_t flags = 1u << 10 | 1u << 0; /* RESET_REG_SUP, WBINVD */
	uint32_t facs = ACPI_GPA + 0x240, pm1a_evt = VM_PM_BASE,
		 pm1a_cnt = VM_PM_BASE + 4;
	uint16_t sci = 9;
	memcpy(t + 36, &facs, 4);
	memcpy(t + 46, &sci, 2);
	memcpy(t + 56, &pm1a_evt, 4);
	memcpy(t + 64, &pm1a_cnt, 4);
	t[88] = 4, t[89] = 2; /* PM1 event and control block lengths */
	uint64_t x_dsdt = dsdt;
	memcpy(t + 40, &dsdt, 4);
	t[109] = 0x04; /* IAPC_BOOT_ARCH: no VGA, and no 8042 to probe */
	memcpy(t + 112, &flags, 4);
	acpi_gas_io(t + 116, 0x64);
	t[128] = 0xfe;
	t[131] = 0; /* FADT minor version */
	memcpy(t + 140, &x_dsdt, 8);
	memcpy(t + 268, "NETFABRC", 8); /* hypervisor vendor */
	t[9] = checksum(t, 276);
	/* FACS: no checksum, 64-byte aligned */
	t = base + (facs - ACPI_GPA);
	uint32_t facs_len = 64;
	memcpy(t, "FACS", 4);
	memcpy(t + 4, &facs_len, 4);
	t[32] = 2; /* version */
	/* MADT */
	t = base + (madt - ACPI_GPA);
	uint8_t *p = t + 44;
	uint32_t lapic = 0xfee00000u, pcat = 1;
	memcpy(t + 36, &lapic, 4);
	memcpy(t + 40, &pcat, 4);
	for (unsigned i = 0; i < vm->ncpus; i++, p += 8) {
		uint32_t en = 1;
		p[0] = 0, p[1] = 8, p[2] = (uint8_t)i, p[3] = (uint8_t)i;
		memcpy(p + 4, &en, 4);
	}
	uint32_t ioapic = 0xfec00000u, gsib = 0;
	p[0] = 1, p[1] = 12, p[2] = (uint8_t)vm->ncpus, p[3] = 0;
	memcpy(p + 4, &ioapic, 4);
	memcpy(p + 8, &gsib, 4);
	p += 12;
	/* the SCI: ISA IRQ 9 on GSI 9, level triggered, active high (as
	 * QEMU gives it), so an event stays pending until acknowledged */
	uint32_t gsi9 = 9;
	uint16_t iso_flags = 0x000d;
	p[0] = 2, p[1] = 10, p[2] = 0, p[3] = 9;
	memcpy(p + 4, &gsi9, 4);
	memcpy(p + 8, &iso_flags, 2);
	p += 10;
	/* NMI on LINT1 of every CPU */
	p[0] = 4, p[1] = 6, p[2] = 0xff, p[3] = 0, p[4] = 0, p[5] = 1;
	p += 6;
	uint32_t mlen = (uint32_t)(p - t);
	acpi_header(t, "APIC", mlen, 5);
	t[9] = checksum(t, mlen);
	/* XSDT */
	t = base + (xsdt - ACPI_GPA);
	uint64_t ents[2] = {fadt, madt};
	acpi_header(t, "XSDT", 36 + sizeof(ents), 1);
	memcpy(t + 36, ents, sizeof(ents));
	t[9] = checksum(t, 36 + sizeof(ents));
	/* RSDP 2.0 */
	t = base;
	uint32_t len = 36;
	uint64_t x = xsdt;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "NETVM ", 6);
	t[15] = 2;
	memcpy(t + 20, &len, 4);
	memcpy(t + 24, &x, 8);
	t[8] = checksum(t, 20);
	t[32] = checksum(t, 36);
}

/* Intel MP spec 1.4 table: CPUs, PCI (bus 0, as the PCI bus number) and
 * ISA (bus 1), the I/O APIC, ISA IRQs 0-15 on pins 0-15, PCI INTA# of slot
 * s on pin 16+s. */
static void write_mptable(struct vm *vm)
{
	uint8_t *base = vm_guest(vm, MPTABLE_GPA, 0x10000);
	uint8_t *p = base + 16, *t = p;
	unsigned count = 0, ioapic = vm->ncpus;
	memset(base, 0, 0x1000);
	memcpy(base, "_MP_", 4);
	uint32_t phys = MPTABLE_GPA + 16;
	memcpy(base + 4, &phys, 4);
	base[8] = 1, base[9] = 4;
	p += 44;
	for (unsigned i = 0; i < vm->ncpus; i++, count++, p += 20) {
		uint32_t sig = 0x600, feat = 0x201; /* FPU, APIC */
		p[0] = 0, p[1] = (uint8_t)i, p[2] = 0x14;
		p[3] = 1 | (i == 0 ? 2 : 0); /* enabled, BSP */
		memcpy(p + 4, &sig, 4);
		memcpy(p + 8, &feat, 4);
	}
	memcpy(p, "\x01\x00PCI   ", 8), p += 8, count++;
	memcpy(p, "\x01\x01ISA   ", 8), p += 8, count++;
	uint32_t ioapic_addr = 0xfec00000u;
	p[0] = 2, p[1] = (uint8_t)ioapic, p[2] = 0x11, p[3] = 1;
	memcpy(p + 4, &ioapic_addr, 4);
	p += 8, count++;
	for (unsigned irq = 0; irq < 16; irq++, p += 8, count++) {
		p[0] = 3, p[1] = 0, p[2] = 0, p[3] = 0;
		p[4] = 1, p[5] = (uint8_t)irq, p[6] = (uint8_t)ioapic;
		p[7] = (uint8_t)irq;
	}
	for (unsigned i = 0; i < vm->npci; i++, p += 8, count++) {
		unsigned s = vm->pci[i]->slot;
		p[0] = 3, p[1] = 0, p[2] = 0x0d, p[3] = 0; /* level, high */
		p[4] = 0, p[5] = (uint8_t)(s << 2), p[6] = (uint8_t)ioapic;
		p[7] = (uint8_t)(16 + s);
	}
	/* ExtINT on LINT0, NMI on LINT1 */
	memcpy(p, "\x04\x03\x00\x00\x00\x00\xff\x00", 8), p += 8, count++;
	memcpy(p, "\x04\x01\x00\x00\x00\x00\xff\x01", 8), p += 8, count++;
	uint16_t len = (uint16_t)(p - t), cnt = (uint16_t)count;
	uint32_t lapic = 0xfee00000u;
	memcpy(t, "PCMP", 4);
	memcpy(t + 4, &len, 2);
	t[6] = 4;
	memcpy(t + 8, "NETVM   NETFABRIC   ", 20);
	memcpy(t + 34, &cnt, 2);
	memcpy(t + 36, &lapic, 4);
	t[7] = checksum(t, len);
	base[10] = checksum(base, 16);
}

static int load_pvh(struct vm *vm, const char *path, const char *img,
		    size_t len, const struct initrd *initrd, size_t cl,
		    struct nf_err *e)
{
	struct elf_seg segs[64];
	size_t nsegs;
	uint64_t entry = 0, end = KERNEL_GPA;
	bool have_entry = false;
	int r = elf_segments((const uint8_t *)img, len, segs, 64, &nsegs, path,
			     e);
	for (size_t i = 0; r == 0 && i < nsegs; i++)
		if (segs[i].type == PT_NOTE && !have_entry)
			have_entry = pvh_entry((const uint8_t *)img, &segs[i],
					       &entry) == 0;
	if (r == 0 && !have_entry)
		r = nf_errf(e, ENOEXEC,
			    "%s is neither a bzImage nor an ELF kernel with a "
			    "PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
			    path);
	for (size_t i = 0; r == 0 && i < nsegs; i++) {
		if (segs[i].type != PT_LOAD)
			continue;
		uint8_t *dst = vm_guest(vm, segs[i].paddr, segs[i].memsz);
		if (!dst || segs[i].paddr < KERNEL_GPA)
			return nf_errf(
				e, ENOEXEC,
				"%s: segment at %#llx (%llu bytes) does not "
				"fit guest RAM above 1 MiB (--mem is %zu "
				"MiB)",
				path, (unsigned long long)segs[i].paddr,
				(unsigned long long)segs[i].memsz,
				vm->mem_size >> 20);
		memcpy(dst, img + segs[i].off, segs[i].filesz);
		memset(dst + segs[i].filesz, 0, segs[i].memsz - segs[i].filesz);
		if (segs[i].paddr + segs[i].memsz > end)
			end = segs[i].paddr + segs[i].memsz;
	}
	if (r < 0)
		return r;
	struct e820 m[3];
	unsigned nm = memory_map(vm, m);
	uint8_t si[56] = {0};
	uint32_t u32[4] = {PVH_MAGIC, 1, 0, 0};
	uint64_t cmd = cl ? CMDLINE_GPA : 0, mm = MEMMAP_GPA;
	if (initrd) {
		uint64_t mod[4] = {0};
		if ((r = load_initrd(vm, initrd, end, 0xffffffffu, &mod[0],
				     &mod[1], e)) < 0)
			return r;
		memcpy(vm_guest(vm, MODLIST_GPA, sizeof(mod)), mod,
		       sizeof(mod));
		u32[3] = 1;
		uint64_t ml = MODLIST_GPA;
		memcpy(si + 16, &ml, 8);
	}
	memcpy(si, u32, 16);
	memcpy(si + 24, &cmd, 8);
	uint64_t rsdp = ACPI_GPA;
	memcpy(si + 32, &rsdp, 8);
	memcpy(si + 40, &mm, 8);
	memcpy(si + 48, &nm, 4);
	memcpy(vm_guest(vm, START_INFO_GPA, sizeof(si)), si, sizeof(si));
	for (unsigned i = 0; i < nm; i++) {
		uint8_t ent[24] = {0};
		memcpy(ent, &m[i], 20);
		memcpy(vm_guest(vm, MEMMAP_GPA + 24 * i, 24), ent, 24);
	}
	return set_boot_cpu(vm, entry, START_INFO_GPA, 0, e);
}

/* Offsets in boot_params / the setup header (Documentation/arch/x86/
 * boot.rst). */
#define BP_ACPI_RSDP	0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS	0x1f1
#define BP_HEADER	0x202
#define BP_VERSION	0x206
#define BP_LOADER	0x210
#define BP_LOADFLAGS	0x211
#define BP_RAMDISK	0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END	0x224
#define BP_CMDLINE	0x228
#define BP_INITRD_MAX	0x22c
#define BP_CMDLINE_SIZE 0x238
#define BP_INIT_SIZE	0x260
#define BP_E820_TABLE	0x2d0

static bool is_bzimage(const char *img, size_t len)
{
	return len > 0x1000 && !memcmp(img + BP_HEADER, "HdrS", 4);
}

static int load_bzimage(struct vm *vm, const char *path, const char *img,
			size_t len, const struct initrd *initrd, size_t cl,
			struct nf_err *e)
{
	uint16_t version;
	uint32_t init_size, initrd_max = 0x37ffffff, cmdline_size = 255;
	memcpy(&version, img + BP_VERSION, 2);
	memcpy(&init_size, img + BP_INIT_SIZE, 4);
	if (version < 0x20a)
		return nf_errf(e, ENOEXEC,
			       "%s: boot protocol %u.%02u is too old (netvm "
			       "needs 2.10, Linux 2.6.31 or later)",
			       path, version >> 8, version & 0xff);
	memcpy(&initrd_max, img + BP_INITRD_MAX, 4);
	memcpy(&cmdline_size, img + BP_CMDLINE_SIZE, 4);
	unsigned sects = (uint8_t)img[BP_SETUP_SECTS];
	size_t setup = ((size_t)(sects ? sects : 4) + 1) * 512;
	if (setup >= len)
		return nf_errf(e, ENOEXEC, "%s: truncated bzImage", path);
	uint64_t need = (uint64_t)KERNEL_GPA +
			(init_size > len - setup ? init_size : len - setup);
	if (need > vm->mem_size)
		return nf_errf(e, ENOMEM,
			       "%s needs %llu MiB to unpack; --mem is %zu MiB",
			       path, (unsigned long long)(need >> 20) + 1,
			       vm->mem_size >> 20);
	if (cl > cmdline_size)
		return nf_errf(e, E2BIG,
			       "the command line is over this kernel's %u "
			       "bytes",
			       cmdline_size);
	uint8_t *bp = vm_guest(vm, ZEROPAGE_GPA, 4096);
	memset(bp, 0, 4096);
	size_t hdr_end = 0x202 + (uint8_t)img[0x201];
	memcpy(bp + BP_SETUP_SECTS, img + BP_SETUP_SECTS,
	       (hdr_end < 0x290 ? hdr_end : 0x290) - BP_SETUP_SECTS);
	memcpy(vm_guest(vm, KERNEL_GPA, len - setup), img + setup, len - setup);
	bp[BP_LOADER] = 0xff;
	bp[BP_LOADFLAGS] |= 0x80 | 0x01; /* CAN_USE_HEAP, LOADED_HIGH */
	uint16_t heap_end = 0xfe00;
	uint32_t cmd = CMDLINE_GPA;
	memcpy(bp + BP_HEAP_END, &heap_end, 2);
	memcpy(bp + BP_CMDLINE, &cmd, 4);
	if (initrd) {
		uint64_t gpa, size;
		int r = load_initrd(vm, initrd, need, initrd_max, &gpa, &size,
				    e);
		if (r < 0)
			return r;
		uint32_t g = (uint32_t)gpa, s = (uint32_t)size;
		memcpy(bp + BP_RAMDISK, &g, 4);
		memcpy(bp + BP_RAMDISK_SIZE, &s, 4);
	}
	struct e820 m[3];
	unsigned nm = memory_map(vm, m);
	uint64_t rsdp = ACPI_GPA;
	memcpy(bp + BP_ACPI_RSDP, &rsdp, 8);
	bp[BP_E820_ENTRIES] = (uint8_t)nm;
	memcpy(bp + BP_E820_TABLE, m, sizeof(m));
	return set_boot_cpu(vm, KERNEL_GPA, 0, ZEROPAGE_GPA, e);
}

int vm_boot_image(struct vm *vm, const char *name, const char *img, size_t len,
		  const char *initrd, size_t initrd_len,
		  const char *initrd_name, const char *cmdline,
		  struct nf_err *e)
{
	size_t cl = cmdline ? strlen(cmdline) : 0;
	struct initrd rd = {initrd, initrd_name, initrd_len};
	if (cl >= CMDLINE_MAX)
		return nf_errf(e, E2BIG, "the command line is over %u bytes",
			       CMDLINE_MAX - 1);
	memcpy(vm_guest(vm, CMDLINE_GPA, CMDLINE_MAX), cmdline ? cmdline : "",
	       cl + 1);
	write_acpi(vm);
	write_mptable(vm);
	if (is_bzimage(img, len)) {
		if (vm->kind == NF_KVM_PVM)
			nf_warn("%s is a bzImage, and /dev/kvm is %s: a stock "
				"Linux kernel does not boot in it (it runs "
				"through KVM's instruction emulator until that "
				"gives up); only a PVM-enabled kernel does",
				name, nf_kvm_name(vm->kind));
		return load_bzimage(vm, name, img, len, initrd ? &rd : NULL, cl,
				    e);
	}
	if (len >= 4 && !memcmp(img, ELFMAG, SELFMAG))
		return load_pvh(vm, name, img, len, initrd ? &rd : NULL, cl, e);
	return nf_errf(e, ENOEXEC, "%s is neither a bzImage nor an ELF file",
		       name);
}

/* A file named on the command line, or fd:N (inherited, read from its
 * start: netd hands one open kernel to many guests). */
static int read_image(const char *spec, size_t max, char **img, size_t *len,
		      struct nf_err *e)
{
	char *end;
	if (strncmp(spec, "fd:", 3))
		return nf_read_path(spec, max, img, len, e);
	long fd = strtol(spec + 3, &end, 10);
	if (end == spec + 3 || *end || fd < 0 || fd > 65535)
		return nf_errf(e, EINVAL, "'%s' is not fd:N", spec);
	return nf_read_fd((int)fd, max, img, len, spec, e);
}

int vm_load_kernel(struct vm *vm, const char *kernel, const char *initrd,
		   const char *cmdline, struct nf_err *e)
{
	char *img = NULL, *rd = NULL;
	size_t len, rlen = 0;
	int r = read_image(kernel, vm->mem_size, &img, &len, e);
	if (r == 0 && initrd)
		r = read_image(initrd, vm->mem_size, &rd, &rlen, e);
	if (r == 0)
		r = vm_boot_image(vm, kernel, img, len, rd, rlen, initrd,
				  cmdline, e);
	free(img);
	free(rd);
	return r;
}
