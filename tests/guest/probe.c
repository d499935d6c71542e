/* The probe guest: a tiny freestanding program netvm boots through its PVH
 * entry to prove the path KVM -> devices -> serial. It prints what it
 * finds in lines a test can parse, then powers off. */
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#define COM1 0x3f8

static void putc_(char c)
{
	while (!(inb(COM1 + 5) & 0x20)) /* transmitter holding register */
		;
	outb(COM1, (uint8_t)c);
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void puthex(uint32_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putc_("0123456789abcdef"[(v >> (i * 4)) & 0xf]);
}

static int has_word(const char *s, const char *w)
{
	for (; s && *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b)
			a++, b++;
		if (!*b && (*a == ' ' || !*a))
			return 1;
		while (*s && *s != ' ')
			s++;
		if (!*s)
			break;
	}
	return 0;
}

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
};

static uint32_t pci_read(int dev, int fn, int reg)
{
	outl(0xcf8, 0x80000000u | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
			    (uint32_t)(reg & 0xfc));
	return inl(0xcfc);
}

void probe_main(const struct hvm_start_info *si)
{
	puts_("probe: up\n");
	if (si->magic != 0x336ec578) {
		puts_("probe: bad start info\n");
	} else if (si->cmdline_paddr) {
		puts_("probe: cmdline ");
		puts_((const char *)(uintptr_t)si->cmdline_paddr);
		puts_("\n");
	}
	for (int dev = 0; dev < 32; dev++) {
		uint32_t id = pci_read(dev, 0, 0);
		if ((id & 0xffff) == 0xffff)
			continue;
		puts_("pci 00:");
		puthex((uint32_t)dev, 2);
		puts_(".0 ");
		puthex(id & 0xffff, 4);
		putc_(':');
		puthex(id >> 16, 4);
		puts_("\n");
	}
	const char *cmd = si->magic == 0x336ec578 && si->cmdline_paddr
				  ? (const char *)(uintptr_t)si->cmdline_paddr
				  : "";
	puts_("probe: done\n");
	if (has_word(cmd, "reset"))
		outb(0x64, 0xfe); /* keyboard controller reset */
	if (has_word(cmd, "triplefault")) {
		static const struct {
			uint16_t limit;
			uint32_t base;
		} __attribute__((packed)) no_idt = {0, 0};
		__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	}
	outw(0x604, 0x2000); /* ACPI PM1a sleep: power off */
}
