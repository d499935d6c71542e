/* The legacy devices every PC guest expects, each registered in the VM's
 * port table (vm_add_pio) with its own state: 8250 serial, i8042, CMOS/RTC,
 * ACPI PM1 (power-off and the power button) and netvm's idle port.
 * Handlers run under the VM's io_lock. */
#define _GNU_SOURCE
#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERIAL_IRQ 4

#define SERIAL_RX 64 /* bytes of input held for the guest */

struct serial {
	uint8_t lcr, ier, scr, mcr;
	bool thre; /* THR-empty interrupt pending */
	uint8_t rx[SERIAL_RX];
	unsigned rx_head, rx_n; /* input not yet read from RBR */
};

struct i8042 {
	uint8_t ctr, out, cmd;
	bool obf, timeout;
};

struct legacy {
	struct serial serial;
	struct i8042 kbd;
	uint8_t cmos_idx;
	uint16_t pm1_sts, pm1_en; /* ACPI PM1 status and enable registers */
};

#define SCI_IRQ	   9	     /* the FADT's SCI_INT, level and high (MADT) */
#define PWRBTN_STS (1u << 8) /* PM1 status and enable: the power button */

/* 8250 UART at 0x3f8: output to the console, the THR-empty interrupt on
 * IRQ 4 so Linux's interrupt-driven tty output flows; input (from
 * vm_serial_input) in a small FIFO behind RBR, with LSR's data-ready bit
 * and the received-data interrupt. Each new "THR empty" or new input is a
 * fresh rising edge: an I/O APIC pin is edge triggered for ISA IRQs, and
 * a line left high would never interrupt again. */
static void serial_irq(struct vm *vm, struct serial *s, bool fresh)
{
	bool on = (s->thre && (s->ier & 2)) || (s->rx_n && (s->ier & 1));
	if (on && fresh)
		vm_irq_line(vm, SERIAL_IRQ, false);
	vm_irq_line(vm, SERIAL_IRQ, on);
}

static void serial_write(struct vm *vm, struct serial *s, unsigned reg,
			 uint8_t v)
{
	bool dlab = s->lcr & 0x80;
	if (reg == 0 && !dlab) {
		if (vm->console)
			console_put(vm->console, v);
		s->thre = true;
	} else if (reg == 1 && !dlab) {
		if ((v & 2) && !(s->ier & 2))
			s->thre = true;
		s->ier = v & 0x0f;
	} else if (reg == 2) { /* FCR: a receive FIFO reset drops input */
		if (v & 2)
			s->rx_n = 0;
	} else if (reg == 3) {
		s->lcr = v;
	} else if (reg == 4) {
		s->mcr = v;
	} else if (reg == 7) {
		s->scr = v;
	}
	serial_irq(vm, s, reg <= 1 && !dlab);
}

static uint8_t serial_read(struct vm *vm, struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & 0x80;
	uint8_t m = s->mcr, c;
	switch (reg) {
	case 0: /* RBR: the oldest byte of input */
		if (dlab || !s->rx_n)
			return 0;
		c = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_RX;
		s->rx_n--;
		serial_irq(vm, s, false);
		return c;
	case 1: return dlab ? 0 : s->ier;
	case 2: /* IIR: received data first (reading RBR clears it), then
		 * THR empty (reading IIR clears that) */
		if (s->rx_n && (s->ier & 1))
			return 0xc4;
		if (!(s->thre && (s->ier & 2)))
			return 0xc1;
		s->thre = false;
		serial_irq(vm, s, false);
		return 0xc2;
	case 3: return s->lcr;
	case 4: return s->mcr;
	case 5: /* LSR: transmitter empty; data ready while input waits */
		return (uint8_t)(0x60 | (s->rx_n ? 1 : 0));
	case 6: /* MSR: DCD, DSR, CTS; in loopback, MCR's outputs */
		return m & 0x10 ? (uint8_t)((m & 1) << 5 | (m & 2) << 3 |
					    (m & 4) << 4 | (m & 8) << 4)
				: 0xb0;
	case 7: return s->scr;
	default: return 0;
	}
}

static void serial_io(struct vm *vm, void *dev, struct vm_io *io)
{
	struct serial *s = dev;
	if (io->size != 1) {
		if (!io->out)
			memset(io->data, 0xff, io->size);
	} else if (io->out) {
		serial_write(vm, s, io->off, *io->data);
	} else {
		*io->data = serial_read(vm, s, io->off);
	}
}

/* i8042 keyboard controller (data 0x60, command/status 0x64), no devices
 * behind it: controller commands (CTR read/write, self tests) answer at
 * once so Linux's probe does not wait for timeouts; a write for the
 * keyboard comes back as a timeout; 0xfe on the command port is the reset
 * line. */
static void i8042_command(struct i8042 *k, uint8_t v, struct vm_io *io)
{
	k->cmd = v;
	switch (v) {
	case 0xfe: io->stop = VM_RESET; return; /* pulse the reset line */
	case 0x20: k->out = k->ctr; break;
	case 0xaa: k->out = 0x55; break; /* self test passed */
	case 0xa9:			 /* aux port test */
	case 0xab: k->out = 0x00; break; /* keyboard port test */
	default: return;
	}
	k->obf = true;
	k->timeout = false;
}

static void i8042_io(struct vm *vm, void *dev, struct vm_io *io, bool status)
{
	struct i8042 *k = dev;
	(void)vm;
	if (!io->out && status) {
		*io->data =
			0x04 | (k->obf ? 0x01 : 0) | (k->timeout ? 0x40 : 0);
	} else if (!io->out) {
		*io->data = k->out;
		k->obf = k->timeout = false;
	} else if (status) {
		i8042_command(k, *io->data, io);
	} else {
		if (k->cmd == 0x60) {
			k->ctr = *io->data;
		} else if (k->cmd != 0xd3 && k->cmd != 0xd2) {
			k->out = 0xfe; /* no keyboard or mouse answers */
			k->obf = k->timeout = true;
		}
		k->cmd = 0;
	}
}

static void i8042_data(struct vm *vm, void *dev, struct vm_io *io)
{
	i8042_io(vm, dev, io, false);
}

static void i8042_status(struct vm *vm, void *dev, struct vm_io *io)
{
	i8042_io(vm, dev, io, true);
}

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

/* CMOS/RTC (index 0x70, data 0x71): the host's UTC time in BCD, 24-hour,
 * valid, never updating. */
static uint8_t cmos_read(unsigned idx)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (idx) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(tm.tm_year / 100 + 19);
	case 0x0a: return 0x26;
	case 0x0b: return 0x02;
	case 0x0d: return 0x80;
	default: return 0;
	}
}

static void cmos_io(struct vm *vm, void *dev, struct vm_io *io)
{
	struct legacy *l = dev;
	(void)vm;
	if (io->off == 0 && io->out)
		l->cmos_idx = *io->data & 0x7f;
	else if (io->off == 1 && !io->out)
		*io->data = cmos_read(l->cmos_idx);
	else if (!io->out)
		memset(io->data, 0xff, io->size);
}

/* The SCI is up while an enabled event is pending. */
static void sci(struct vm *vm, const struct legacy *l)
{
	vm_irq_line(vm, SCI_IRQ, (l->pm1_sts & l->pm1_en) != 0);
}

/* ACPI PM1a at VM_PM_BASE: event status (2 bytes: the power button, each
 * bit cleared by writing it 1), enable (2), control (2). Control reads
 * SCI_EN (ACPI mode); SLP_EN in a write powers off. */
static void pm_io(struct vm *vm, void *dev, struct vm_io *io)
{
	struct legacy *l = dev;
	unsigned n = io->size < 2 ? 1 : 2;
	uint16_t v = 0;
	if (io->out && io->off == 4 && io->size == 2) {
		memcpy(&v, io->data, 2);
		if (v & 0x2000)
			io->stop = VM_POWEROFF;
	} else if (io->out && io->off == 0) {
		memcpy(&v, io->data, n);
		l->pm1_sts &= (uint16_t)~v;
		sci(vm, l);
	} else if (io->out && io->off == 2) {
		memcpy(&l->pm1_en, io->data, n);
		l->pm1_en &= PWRBTN_STS; /* the one event there is */
		sci(vm, l);
	} else if (!io->out) {
		v = io->off == 4   ? 1 /* SCI_EN */
		    : io->off == 2 ? l->pm1_en
		    : io->off == 0 ? l->pm1_sts
				   : 0;
		memcpy(io->data, &v, n);
		if (io->size == 4)
			memset(io->data + 2, 0, 2);
	}
}

size_t vm_serial_input(struct vm *vm, const uint8_t *data, size_t n)
{
	struct legacy *l = vm->legacy;
	struct serial *s = &l->serial;
	size_t took = 0;
	pthread_mutex_lock(&vm->io_lock);
	bool was_empty = s->rx_n == 0;
	for (; took < n && s->rx_n < SERIAL_RX; took++, s->rx_n++)
		s->rx[(s->rx_head + s->rx_n) % SERIAL_RX] = data[took];
	if (took)
		serial_irq(vm, s, was_empty);
	pthread_mutex_unlock(&vm->io_lock);
	return took;
}

size_t vm_serial_room(struct vm *vm)
{
	struct legacy *l = vm->legacy;
	pthread_mutex_lock(&vm->io_lock);
	size_t room = SERIAL_RX - l->serial.rx_n;
	pthread_mutex_unlock(&vm->io_lock);
	return room;
}

void vm_power_button(struct vm *vm)
{
	struct legacy *l = vm->legacy;
	pthread_mutex_lock(&vm->io_lock);
	l->pm1_sts |= PWRBTN_STS;
	sci(vm, l);
	pthread_mutex_unlock(&vm->io_lock);
}

/* VM_IDLE_PORT: a dword write of N rests the vCPU N microseconds. */
static void idle_io(struct vm *vm, void *dev, struct vm_io *io)
{
	(void)vm;
	(void)dev;
	if (io->out && io->size == 4)
		memcpy(&io->idle_us, io->data, 4);
	else if (!io->out)
		memset(io->data, 0xff, io->size);
}

int vm_add_legacy(struct vm *vm, struct nf_err *e)
{
	struct legacy *l = nf_xcalloc(1, sizeof(*l));
	const struct vm_pio devs[] = {
		{"serial", 0x3f8, 8, serial_io, &l->serial},
		{"i8042 data", 0x60, 1, i8042_data, &l->kbd},
		{"i8042 command", 0x64, 1, i8042_status, &l->kbd},
		{"CMOS", 0x70, 2, cmos_io, l},
		{"ACPI PM1", VM_PM_BASE, 6, pm_io, l},
		{"idle", VM_IDLE_PORT, 4, idle_io, NULL},
	};
	vm->legacy = l;
	for (size_t i = 0; i < NF_ARRAY_SIZE(devs); i++) {
		int rc = vm_add_pio(vm, &devs[i], e);
		if (rc < 0)
			return rc;
	}
	return 0;
}
