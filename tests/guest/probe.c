/* The probe guest: a tiny freestanding program netvm boots through its PVH
 * entry. It enumerates PCI, drives the first virtio-net device (virtio 1.x
 * modern, polled), gets an address by DHCP, answers ARP and ICMP echo,
 * pings what its command line names and reports each result on the serial
 * console in lines a test can parse:
 *   lease 192.168.122.11        ping 192.168.122.1 ok 3/3
 * Command line words: ping=IP[,IP...]  count=N  serve=SECONDS (keep
 * answering after the pings)  nonet (skip the network)  hostile (first
 * hand the device malformed rings: a descriptor outside RAM, a looping
 * chain, a jumping avail index; report each NEEDS_RESET, then recover)
 * reset  triplefault  busy (poll without pause; by default the probe
 * pauses 1 ms through netvm's idle port whenever nothing arrived),
 * mute (bring no device up, ask nothing, stay for serve=SECONDS: a guest
 * whose DHCP client never runs), spoof=IP (after the pings, send each
 * target count echo requests from IP, not our address: what a guard must
 * drop; "spoof IP sent N to TARGET"),
 * and up to four virtio-net devices, each getting its own lease;
 * disk (drive the first virtio-blk device: read the test's pattern,
 * write (byte i of sector k is k * dseed + i, dseed 13 unless given),
 * flush, discard, write zeroes; with hostile also the requests a
 * device must refuse: "disk WHAT ok" per check; with dbench=KIB,MIB,r|w
 * then read or write MIB sequentially in requests of KIB). While it
 * waits it watches the ACPI power button (PM1 status, polled) and powers
 * off when it is pressed ("probe: power button: powering off"), unless
 * told deaf; with uart it also reads its serial port (LSR data ready,
 * RBR, polled) and says each line typed into it: "uart: LINE". */
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* ------------------------------------------------------------ basics */

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void *memcpy(void *d, const void *s, unsigned n);
void *memset(void *d, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n)
{
	void *r = d;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return r;
}
void *memset(void *d, int c, unsigned n)
{
	void *r = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return r;
}
static int memeq(const void *a, const void *b, unsigned n)
{
	const u8 *x = a, *y = b;
	while (n--)
		if (*x++ != *y++)
			return 0;
	return 1;
}

#define barrier() __asm__ volatile("" ::: "memory")
#define mb()	  __asm__ volatile("lock; addl $0,0(%%esp)" ::: "memory")

#define COM1 0x3f8

static void putc_(char c)
{
	while (!(inb(COM1 + 5) & 0x20)) /* transmitter holding register */
		;
	outb(COM1, (u8)c);
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void puthex(u32 v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putc_("0123456789abcdef"[(v >> (i * 4)) & 0xf]);
}

static void putdec(u32 v)
{
	char b[12];
	int i = 0;
	do
		b[i++] = (char)('0' + v % 10);
	while (v /= 10);
	while (i)
		putc_(b[--i]);
}

static void putip(u32 ip) /* network order in memory, as bytes */
{
	const u8 *b = (const u8 *)&ip;
	for (int i = 0; i < 4; i++) {
		putdec(b[i]);
		if (i < 3)
			putc_('.');
	}
}

/* The value of word KEY=... in the command line, or 0. */
static const char *arg(const char *s, const char *key)
{
	for (; s && *s;) {
		const char *a = s, *b = key;
		while (*b && *a == *b)
			a++, b++;
		if (!*b && (*a == '=' || *a == ' ' || !*a))
			return *a == '=' ? a + 1 : a;
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	return 0;
}

static u32 parse_dec(const char **p)
{
	u32 v = 0;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (u32)(*(*p)++ - '0');
	return v;
}

static int parse_ip(const char **p, u32 *ip)
{
	u8 *b = (u8 *)ip;
	for (int i = 0; i < 4; i++) {
		if (**p < '0' || **p > '9')
			return 0;
		b[i] = (u8)parse_dec(p);
		if (i < 3 && *(*p)++ != '.')
			return 0;
	}
	return 1;
}

/* Seconds from the CMOS clock (netvm answers with the host's time). */
static u32 cmos(u8 r)
{
	outb(0x70, r);
	u8 v = inb(0x71);
	return (u32)(v >> 4) * 10 + (v & 15);
}
static u32 now_s(void)
{
	return cmos(4) * 3600 + cmos(2) * 60 + cmos(0);
}
static u32 elapsed(u32 since)
{
	u32 n = now_s();
	return n >= since ? n - since : n + 86400 - since;
}

/* --------------------------------------------------------------- PCI */

static u32 pci_read(int dev, int reg)
{
	outl(0xcf8, 0x80000000u | (u32)dev << 11 | (u32)(reg & 0xfc));
	return inl(0xcfc);
}
static void pci_write(int dev, int reg, u32 v)
{
	outl(0xcf8, 0x80000000u | (u32)dev << 11 | (u32)(reg & 0xfc));
	outl(0xcfc, v);
}
static u8 pci_read8(int dev, int reg)
{
	return (u8)(pci_read(dev, reg) >> ((reg & 3) * 8));
}

/* --------------------------------------------------------- virtio-net */

#define QSZ   16
#define BUFSZ 2048
#define HDR   12

struct desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};
struct ring {
	struct desc desc[QSZ];
	u16 avail_flags, avail_idx, avail_ring[QSZ], used_event;
	u8 pad[4096 - 16 * QSZ - 6 - 2 * QSZ];
	u16 used_flags, used_idx;
	struct {
		u32 id, len;
	} used_ring[QSZ];
	u16 avail_event;
} __attribute__((aligned(4096)));

/* Up to MAXNIC virtio-net devices, each with its own rings, buffers,
 * address and ARP cache; N is the one being worked on (the names below
 * are its fields, so the driver and the stack read as for one device). */
#define MAXNIC 4
struct nic {
	struct ring rxq, txq;
	u8 rxbuf[QSZ][BUFSZ] __attribute__((aligned(16)));
	u8 txbuf[QSZ][BUFSZ] __attribute__((aligned(16)));
	u16 rx_seen, tx_next;
	volatile u8 *common, *isr, *devcfg, *notify;
	u32 notify_mult;
	int vdev;
	u8 mac[6];
	u32 my_ip, mask, router, server, offered;
	int dhcp_state; /* 0 none, 2 offer seen, 5 ack seen */
	struct {
		u32 ip;
		u8 hw[6];
	} arp_cache[8];
};
static struct nic nics[MAXNIC];
static struct nic *N = nics;
static int nnics;
#define rxq	    (N->rxq)
#define txq	    (N->txq)
#define rxbuf	    (N->rxbuf)
#define txbuf	    (N->txbuf)
#define rx_seen	    (N->rx_seen)
#define tx_next	    (N->tx_next)
#define common	    (N->common)
#define isr	    (N->isr)
#define devcfg	    (N->devcfg)
#define notify	    (N->notify)
#define notify_mult (N->notify_mult)
#define vdev	    (N->vdev)
#define mac	    (N->mac)
#define my_ip	    (N->my_ip)
#define mask	    (N->mask)
#define router	    (N->router)
#define server	    (N->server)
#define offered	    (N->offered)
#define dhcp_state  (N->dhcp_state)
#define arp_cache   (N->arp_cache)

#define C8(o)  (*(volatile u8 *)(common + (o)))
#define C16(o) (*(volatile u16 *)(common + (o)))
#define C32(o) (*(volatile u32 *)(common + (o)))

static void kick(u16 q)
{
	C16(22) = q;
	u16 off = C16(30);
	*(volatile u16 *)(notify + off * notify_mult) = q;
}

static void setup_queue(u16 q, struct ring *r)
{
	memset(r, 0, sizeof(*r));
	C16(22) = q;		/* queue_select */
	C16(24) = QSZ;		/* queue_size */
	C16(26) = 0xffff;	/* no MSI-X vector: we poll */
	C32(32) = (u32)r->desc; /* desc */
	C32(36) = 0;
	C32(40) = (u32)&r->avail_flags; /* driver (avail) */
	C32(44) = 0;
	C32(48) = (u32)&r->used_flags; /* device (used) */
	C32(52) = 0;
	C16(28) = 1; /* enable */
}

static void rx_post(u16 i)
{
	rxq.desc[i] = (struct desc){(u32)rxbuf[i], BUFSZ, 2 /* WRITE */, 0};
	rxq.avail_ring[rxq.avail_idx % QSZ] = i;
	barrier();
	rxq.avail_idx++;
}

/* Finds the virtio-net devices and their regions; how many there are. */
static int vnet_map(void);
static int vnet_find(void)
{
	/* modern (1041) or transitional (1000, QEMU's default): the
	 * modern interface either way */
	for (int dev = 1; dev < 32 && nnics < MAXNIC; dev++)
		if (pci_read(dev, 0) == 0x10411af4u ||
		    pci_read(dev, 0) == 0x10001af4u) {
			N = &nics[nnics];
			vdev = dev;
			if (vnet_map())
				nnics++;
		}
	N = nics;
	return nnics;
}

/* A virtio-pci device's regions, from its vendor capabilities. */
struct vregs {
	volatile u8 *cm, *is, *cfg, *nt; /* common, ISR, device, notify */
	u32 mult;			 /* notify_off_multiplier */
};

static int map_caps(int dev, struct vregs *r)
{
	pci_write(dev, 4, pci_read(dev, 4) | 6); /* memory, bus master */
	for (u8 c = pci_read8(dev, 0x34); c; c = pci_read8(dev, c + 1)) {
		if (pci_read8(dev, c) != 9)
			continue;
		u8 type = pci_read8(dev, c + 3), b = pci_read8(dev, c + 4);
		if (b > 5)
			continue;
		/* the BAR the capability names: memory, 32-bit or 64-bit
		 * (then below 4 GiB: this guest is 32-bit) */
		u32 bar = pci_read(dev, 0x10 + 4 * b);
		if ((bar & 1) || ((bar & 6) == 4 && b < 5 &&
				  pci_read(dev, 0x14 + 4 * b) != 0))
			continue;
		volatile u8 *p =
			(volatile u8 *)((bar & ~0xfu) + pci_read(dev, c + 8));
		if (type == 1)
			r->cm = p;
		else if (type == 2)
			r->nt = p, r->mult = pci_read(dev, c + 16);
		else if (type == 3)
			r->is = p;
		else if (type == 4)
			r->cfg = p;
	}
	return r->cm && r->nt && r->is && r->cfg;
}

static int vnet_map(void)
{
	struct vregs r = {0};
	if (!map_caps(vdev, &r))
		return 0;
	common = r.cm, notify = r.nt, notify_mult = r.mult;
	isr = r.is, devcfg = r.cfg;
	return 1;
}

/* Reset and bring the device up with VERSION_1 and MAC; 0 on refusal. */
static int vnet_init(void)
{
	C8(20) = 0;
	while (C8(20))
		;
	C8(20) = 1 | 2; /* ACKNOWLEDGE, DRIVER */
	C32(0) = 1;
	u32 hi = C32(4);
	C32(0) = 0;
	u32 lo = C32(4);
	if (!(hi & 1) || !(lo & (1u << 5)))
		return 0;
	C32(8) = 0, C32(12) = 1u << 5; /* MAC */
	C32(8) = 1, C32(12) = 1;       /* VERSION_1 */
	C8(20) = 1 | 2 | 8;	       /* FEATURES_OK */
	if (!(C8(20) & 8))
		return 0;
	setup_queue(0, &rxq);
	setup_queue(1, &txq);
	for (int i = 0; i < 6; i++)
		mac[i] = devcfg[i];
	rx_seen = tx_next = 0;
	for (u16 i = 0; i < QSZ; i++)
		rx_post(i);
	C8(20) = 1 | 2 | 8 | 4; /* DRIVER_OK */
	kick(0);
	return 1;
}

static void send(const void *frame, unsigned len)
{
	u16 i = tx_next++ % QSZ;
	memset(txbuf[i], 0, HDR);
	memcpy(txbuf[i] + HDR, frame, len);
	txq.desc[i] = (struct desc){(u32)txbuf[i], HDR + len, 0, 0};
	txq.avail_ring[txq.avail_idx % QSZ] = i;
	barrier();
	txq.avail_idx++;
	mb();
	kick(1);
}

/* --------------------------------------------------------- the stack */

static u8 bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static int ping_replies;
static u16 ping_seq_want;

static u16 htons_(u16 v)
{
	return (u16)(v << 8 | v >> 8);
}

static u16 csum(const void *p, unsigned n)
{
	const u8 *b = p;
	u32 s = 0;
	for (unsigned i = 0; i + 1 < n; i += 2)
		s += (u32)b[i] << 8 | b[i + 1];
	if (n & 1)
		s += (u32)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons_((u16)~s);
}

static u8 frame[1600];

static unsigned eth(const u8 *dst, u16 type)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, mac, 6);
	frame[12] = (u8)(type >> 8), frame[13] = (u8)type;
	return 14;
}

static void arp_send(u16 op, const u8 *tmac, u32 tip)
{
	unsigned o = eth(op == 1 ? bcast : tmac, 0x0806);
	static const u8 h[8] = {0, 1, 8, 0, 6, 4, 0, 0};
	memcpy(frame + o, h, 8);
	frame[o + 7] = (u8)op;
	memcpy(frame + o + 8, mac, 6);
	memcpy(frame + o + 14, &my_ip, 4);
	memcpy(frame + o + 18, op == 1 ? (const u8 *)"\0\0\0\0\0\0" : tmac, 6);
	memcpy(frame + o + 24, &tip, 4);
	send(frame, o + 28);
}

static void arp_learn(u32 ip, const u8 *m)
{
	int slot = 0;
	for (int i = 0; i < 8; i++)
		if (arp_cache[i].ip == ip || !arp_cache[i].ip) {
			slot = i;
			break;
		}
	arp_cache[slot].ip = ip;
	memcpy(arp_cache[slot].hw, m, 6);
}

static const u8 *arp_lookup(u32 ip)
{
	for (int i = 0; i < 8; i++)
		if (arp_cache[i].ip == ip)
			return arp_cache[i].hw;
	return 0;
}

/* IPv4 header at frame+14 for proto, payload len n; returns offset. */
static unsigned ip_hdr(const u8 *dst_mac, u32 src, u32 dst, u8 proto,
		       unsigned n)
{
	unsigned o = eth(dst_mac, 0x0800);
	u8 *h = frame + o;
	static u16 id;
	memset(h, 0, 20);
	h[0] = 0x45;
	h[2] = (u8)((20 + n) >> 8), h[3] = (u8)(20 + n);
	h[4] = (u8)(++id >> 8), h[5] = (u8)id;
	h[8] = 64, h[9] = proto;
	memcpy(h + 12, &src, 4);
	memcpy(h + 16, &dst, 4);
	u16 c = csum(h, 20);
	memcpy(h + 10, &c, 2);
	return o + 20;
}

static void icmp_echo_from(const u8 *dmac, u32 src, u32 dst, u8 type,
			   const u8 *body, unsigned n)
{
	unsigned o = ip_hdr(dmac, src, dst, 1, n);
	memcpy(frame + o, body, n);
	frame[o] = type, frame[o + 1] = 0, frame[o + 2] = frame[o + 3] = 0;
	u16 c = csum(frame + o, n);
	memcpy(frame + o + 2, &c, 2);
	send(frame, o + n);
}

static void icmp_echo(const u8 *dmac, u32 dst, u8 type, const u8 *body,
		      unsigned n)
{
	icmp_echo_from(dmac, my_ip, dst, type, body, n);
}

/* DHCP */
static u32 xid = 0x4e460001;

static void dhcp_send(u8 type)
{
	u8 *d = frame + 14 + 20 + 8;
	memset(d, 0, 300);
	d[0] = 1, d[1] = 1, d[2] = 6;
	memcpy(d + 4, &xid, 4);
	d[10] = 0x80; /* broadcast flag */
	memcpy(d + 28, mac, 6);
	static const u8 cookie[4] = {99, 130, 83, 99};
	memcpy(d + 236, cookie, 4);
	u8 *o = d + 240;
	*o++ = 53, *o++ = 1, *o++ = type;
	if (type == 3) {
		*o++ = 50, *o++ = 4;
		memcpy(o, &offered, 4), o += 4;
		*o++ = 54, *o++ = 4;
		memcpy(o, &server, 4), o += 4;
	}
	*o++ = 55, *o++ = 2, *o++ = 1, *o++ = 3;
	*o++ = 255;
	unsigned n = 300;
	u32 any = 0, all = 0xffffffffu;
	unsigned off = ip_hdr(bcast, any, all, 17, 8 + n);
	u8 *u = frame + off;
	u[0] = 0, u[1] = 68, u[2] = 0, u[3] = 67;
	u[4] = (u8)((8 + n) >> 8), u[5] = (u8)(8 + n), u[6] = u[7] = 0;
	send(frame, off + 8 + n);
}

static void dhcp_input(const u8 *d, unsigned n)
{
	if (n < 240 || d[0] != 2 || !memeq(d + 4, &xid, 4) ||
	    !memeq(d + 28, mac, 6))
		return;
	u8 type = 0;
	u32 sid = 0, m = 0, rt = 0;
	for (unsigned i = 240; i + 1 < n && d[i] != 255;) {
		u8 t = d[i], l = d[i + 1];
		if (t == 0) {
			i++;
			continue;
		}
		if (i + 2 + l > n)
			break;
		if (t == 53 && l >= 1)
			type = d[i + 2];
		else if (t == 54 && l >= 4)
			memcpy(&sid, d + i + 2, 4);
		else if (t == 1 && l >= 4)
			memcpy(&m, d + i + 2, 4);
		else if (t == 3 && l >= 4)
			memcpy(&rt, d + i + 2, 4);
		i += 2u + l;
	}
	if (type == 2 && dhcp_state == 0) {
		memcpy(&offered, d + 16, 4);
		server = sid;
		dhcp_state = 2;
	} else if (type == 5 && dhcp_state == 2) {
		memcpy(&my_ip, d + 16, 4);
		mask = m, router = rt;
		dhcp_state = 5;
	}
}

static void input(const u8 *f, unsigned n)
{
	if (n < 14 || (!memeq(f, mac, 6) && !memeq(f, bcast, 6)))
		return;
	u16 type = (u16)(f[12] << 8 | f[13]);
	const u8 *p = f + 14;
	n -= 14;
	if (type == 0x0806 && n >= 28) {
		u32 sip, tip;
		memcpy(&sip, p + 14, 4);
		memcpy(&tip, p + 24, 4);
		if (sip)
			arp_learn(sip, p + 8);
		if (p[7] == 1 && my_ip && tip == my_ip)
			arp_send(2, p + 8, sip);
		return;
	}
	if (type != 0x0800 || n < 20 || (p[0] >> 4) != 4)
		return;
	unsigned hl = (p[0] & 15) * 4u, tot = (unsigned)(p[2] << 8 | p[3]);
	if (hl < 20 || tot > n || tot < hl)
		return;
	u32 src, dst;
	memcpy(&src, p + 12, 4);
	memcpy(&dst, p + 16, 4);
	const u8 *l4 = p + hl;
	unsigned ln = tot - hl;
	if (p[9] == 17 && ln >= 8 && l4[3] == 68)
		dhcp_input(l4 + 8, ln - 8);
	else if (p[9] == 1 && ln >= 8 && my_ip && dst == my_ip) {
		if (l4[0] == 8) /* echo request: answer */
			icmp_echo(f + 6, src, 0, l4, ln);
		else if (l4[0] == 0 && l4[4] == 0x4e && l4[5] == 0x46 &&
			 (u16)(l4[6] << 8 | l4[7]) == ping_seq_want)
			ping_replies++;
	}
}

/* Takes what arrived and returns the buffers. */
static void poll_rx(void)
{
	while (*(volatile u16 *)&rxq.used_idx != rx_seen) {
		barrier();
		u16 slot = rx_seen % QSZ;
		u32 id = rxq.used_ring[slot].id, len = rxq.used_ring[slot].len;
		rx_seen++;
		if (id < QSZ) {
			if (len > HDR && len <= BUFSZ)
				input(rxbuf[id] + HDR, len - HDR);
			rx_post((u16)id);
		}
		mb();
		kick(0);
	}
}

/* ------------------------------------------------------------ idling */

/* Between polls that found nothing the probe asks netvm to pause it
 * (netvm's idle port; the probe takes no interrupts, so it cannot halt),
 * 1 ms at first and twice as long each quiet round up to 64 ms: a lab of
 * a hundred serving probes then costs the host little CPU, where spinning
 * would take all of it, and a frame is still answered within 64 ms. */
#define NETVM_IDLE_PORT 0x610
static int idling, deaf; /* deaf: the power button goes unheeded */

/* Polls every device for up to secs seconds or until *flag reaches
 * want; halts while nothing arrives. */
static int uart_on;
/* What was typed into the serial port, a line at a time. */
static int uart_poll(void)
{
	static char line[80];
	static u32 n;
	int got = 0;
	while (inb(COM1 + 5) & 1) {
		char ch = (char)inb(COM1);
		got = 1;
		if (ch != '\r' && ch != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = ch;
			continue;
		}
		if (!n)
			continue;
		line[n] = 0;
		puts_("uart: ");
		puts_(line);
		puts_("\n");
		n = 0;
	}
	return got;
}

static void wait_for(volatile int *flag, int want, u32 secs)
{
	struct nic *cur = N;
	u32 t0 = now_s(), pause = 1000, spent = 0;
	/* the clock is six port reads: read it only every 64 ms or so */
	while (spent < 64000 || (spent = 0, elapsed(t0) < secs)) {
		int before = 0, after = 0;
		if (!deaf && (inw(0x600) & 0x100)) { /* PM1: power button */
			puts_("probe: power button: powering off\n");
			outw(0x600, 0x100); /* acknowledged */
			outw(0x604, 0x2000);
		}
		for (int i = 0; i < nnics; i++) {
			N = &nics[i];
			before += rx_seen;
			poll_rx();
			after += rx_seen;
		}
		N = cur;
		if (flag && *flag >= want)
			return;
		if (uart_on && uart_poll())
			pause = 1000;
		else if (before != after)
			pause = 1000;
		else if (idling)
			outl(NETVM_IDLE_PORT, pause); /* microseconds */
		spent += idling && before == after ? pause : 200;
		if (before == after && pause < 64000)
			pause *= 2;
	}
}

static int dhcp(void)
{
	for (int tries = 0; tries < 15 && dhcp_state != 5; tries++) {
		dhcp_state = 0;
		xid++;
		dhcp_send(1);
		wait_for(&dhcp_state, 2, 2);
		if (dhcp_state != 2)
			continue;
		dhcp_send(3);
		wait_for(&dhcp_state, 5, 2);
	}
	return dhcp_state == 5;
}

static const u8 *resolve(u32 ip)
{
	u32 hop = ((ip ^ my_ip) & mask) && router ? router : ip;
	for (int t = 0; t < 3; t++) {
		const u8 *m = arp_lookup(hop);
		if (m)
			return m;
		arp_send(1, 0, hop);
		u32 t0 = now_s();
		while (elapsed(t0) < 2 && !arp_lookup(hop))
			poll_rx();
	}
	return arp_lookup(hop);
}

static void ping(u32 ip, int count)
{
	int ok = 0;
	/* the device on ip's subnet, else the first (the default route) */
	int on = 0;
	for (int i = 0; i < nnics; i++) {
		N = &nics[i];
		if (my_ip && !((ip ^ my_ip) & mask))
			on = i;
	}
	N = &nics[on];
	const u8 *m = resolve(ip);
	for (int i = 0; m && i < count; i++) {
		u8 body[40];
		memset(body, 0x61, sizeof(body));
		body[4] = 0x4e, body[5] = 0x46; /* identifier "NF" */
		ping_seq_want = (u16)(i + 1);
		body[6] = 0, body[7] = (u8)(i + 1);
		ping_replies = 0;
		icmp_echo(m, ip, 8, body, sizeof(body));
		wait_for(&ping_replies, 1, 3);
		ok += ping_replies > 0;
	}
	puts_("ping ");
	putip(ip);
	puts_(ok == count ? " ok " : " fail ");
	putdec((u32)ok);
	putc_('/');
	putdec((u32)count);
	puts_("\n");
}

/* count echo requests to ip from the address fake */
static void spoof(u32 fake, u32 ip, int count)
{
	const u8 *m = resolve(ip);
	u8 body[40];
	memset(body, 0x73, sizeof(body));
	for (int i = 0; m && i < count; i++)
		icmp_echo_from(m, fake, ip, 8, body, sizeof(body));
	puts_("spoof ");
	putip(fake);
	puts_(" sent ");
	putdec(m ? (u32)count : 0);
	puts_(" to ");
	putip(ip);
	puts_("\n");
}

/* MSI-X on, vectors 0 and 1 unmasked (interrupts stay off here), and
 * the running TX queue's vector moved 0 -> 1 -> none: the device must
 * keep working (netvm once indexed its routes with 0xffff here). */
static void hostile_vectors(void)
{
	u8 cap = pci_read8(vdev, 0x34);
	while (cap && pci_read8(vdev, cap) != 0x11)
		cap = pci_read8(vdev, cap + 1);
	if (!cap || !vnet_init())
		return;
	u32 ctl = pci_read(vdev, cap), tbl = pci_read(vdev, cap + 4);
	volatile u32 *t =
		(volatile u32 *)((pci_read(vdev, 0x10) & ~0xfu) + (tbl & ~7u));
	pci_write(vdev, cap, ctl | 0x80000000u); /* MSI-X enable */
	for (int v = 0; v < 2; v++) {
		t[4 * v] = 0xfee00000u;
		t[4 * v + 1] = 0;
		t[4 * v + 2] = 0x30u + (u32)v;
		t[4 * v + 3] = 0; /* unmasked */
	}
	C16(22) = 1;
	C16(26) = 0;
	C16(26) = 1;
	C16(26) = 0xffff;
	pci_write(vdev, cap, ctl & ~0x80000000u);
	puts_(C8(20) & 0x40 ? "hostile: msi-x vector moved: device broken\n"
			    : "hostile: msi-x vector moved: device works\n");
}

/* Malformed rings; each must end in NEEDS_RESET (status bit 0x40). */
static void hostile(void)
{
	hostile_vectors();
	static const char *const what[] = {"descriptor outside RAM",
					   "looping chain", "avail index jump"};
	for (int t = 0; t < 3; t++) {
		if (!vnet_init())
			return;
		u16 i = tx_next++ % QSZ;
		if (t == 0)
			txq.desc[i] = (struct desc){0xfffff000u, 4096, 0, 0};
		else
			txq.desc[i] = (struct desc){(u32)txbuf[i], 64, 1, i};
		txq.avail_ring[0] = i;
		barrier();
		txq.avail_idx = t == 2 ? 200 : 1;
		mb();
		kick(1);
		u32 t0 = now_s();
		while (!(C8(20) & 0x40) && elapsed(t0) < 3)
			;
		puts_("hostile: ");
		puts_(what[t]);
		puts_(C8(20) & 0x40 ? ": device needs reset\n"
				    : ": device accepted it\n");
	}
}

/* The MP table netvm writes for Linux: "mp cpus N ioapic ID" when its
 * floating pointer and configuration table check out. */
static void mptable(void)
{
	for (u32 a = 0xf0000; a < 0x100000; a += 16) {
		const u8 *f = (const u8 *)a;
		if (!memeq(f, "_MP_", 4))
			continue;
		u8 sum = 0;
		for (int i = 0; i < 16; i++)
			sum += f[i];
		const u8 *t = (const u8 *)(*(const u32 *)(f + 4));
		u16 len = *(const u16 *)(t + 4), n = *(const u16 *)(t + 34);
		u8 tsum = 0;
		for (u16 i = 0; i < len; i++)
			tsum += t[i];
		if (sum || tsum || !memeq(t, "PCMP", 4)) {
			puts_("mp bad checksum\n");
			return;
		}
		u32 cpus = 0, ioapic = 0;
		const u8 *e = t + 44;
		for (u16 i = 0; i < n; i++) {
			if (e[0] == 0) {
				cpus++;
				e += 20;
			} else {
				if (e[0] == 2)
					ioapic = e[1];
				e += 8;
			}
		}
		puts_("mp cpus ");
		putdec(cpus);
		puts_(" ioapic ");
		putdec(ioapic);
		puts_("\n");
		return;
	}
	puts_("mp none\n");
}

/* --------------------------------------------------------- virtio-blk */

/* The first virtio-blk device, polled, one request at a time: a header,
 * the data (split over two buffers, so chains have several), a status. */
static struct {
	struct vregs r;
	struct ring q;
	u16 seen;
	u64 sectors;
	u32 features;
	struct {
		u32 type, ioprio;
		u64 sector;
	} hdr;
	u8 status;
} blk;
static u8 blkbuf[65536] __attribute__((aligned(4096)));

#define B8(o)  (*(volatile u8 *)(blk.r.cm + (o)))
#define B16(o) (*(volatile u16 *)(blk.r.cm + (o)))
#define B32(o) (*(volatile u32 *)(blk.r.cm + (o)))

static int blk_init(void)
{
	int dev = 0;
	for (int d = 1; d < 32 && !dev; d++)
		if (pci_read(d, 0) == 0x10421af4u)
			dev = d;
	if (!dev || !map_caps(dev, &blk.r))
		return 0;
	B8(20) = 0;
	while (B8(20))
		;
	B8(20) = 1 | 2;
	B32(0) = 0;
	blk.features = B32(4); /* RO (5), FLUSH (9), DISCARD (13), WZ (14) */
	B32(0) = 1;
	if (!(B32(4) & 1))
		return 0;
	B32(8) = 0;
	B32(12) = blk.features & (1u << 5 | 1u << 9 | 1u << 13 | 1u << 14);
	B32(8) = 1, B32(12) = 1; /* VERSION_1 */
	B8(20) = 1 | 2 | 8;
	if (!(B8(20) & 8))
		return 0;
	memset(&blk.q, 0, sizeof(blk.q));
	B16(22) = 0;
	B16(24) = QSZ;
	B16(26) = 0xffff;
	B32(32) = (u32)blk.q.desc, B32(36) = 0;
	B32(40) = (u32)&blk.q.avail_flags, B32(44) = 0;
	B32(48) = (u32)&blk.q.used_flags, B32(52) = 0;
	B16(28) = 1;
	B8(20) = 1 | 2 | 8 | 4;
	blk.seen = 0;
	blk.sectors = *(volatile u32 *)blk.r.cfg |
		      (u64) * (volatile u32 *)(blk.r.cfg + 4) << 32;
	return 1;
}

/* Posts a chain of n descriptors (addresses, lengths, device-writable
 * flags) and waits for it; the used length, or -1 if it never came. */
static int blk_chain(int n, const u32 *addr, const u32 *len, const u8 *wr)
{
	for (int i = 0; i < n; i++)
		blk.q.desc[i] = (struct desc){
			addr[i], len[i],
			(u16)((i + 1 < n ? 1 : 0) | (wr[i] ? 2 : 0)),
			(u16)(i + 1)};
	blk.q.avail_ring[blk.q.avail_idx % QSZ] = 0;
	barrier();
	blk.q.avail_idx++;
	barrier();
	B16(22) = 0;
	*(volatile u16 *)(blk.r.nt + B16(30) * blk.r.mult) = 0;
	for (u32 spins = 0; spins < 200000000u; spins++) {
		if (*(volatile u16 *)&blk.q.used_idx != blk.seen) {
			barrier();
			u32 l = blk.q.used_ring[blk.seen % QSZ].len;
			blk.seen++;
			return (int)l;
		}
	}
	return -1;
}

/* A request of type on sector with len data bytes at buf (len 0: none),
 * the data split in two buffers when it is more than a sector; its
 * status, or -1 when the device answered nothing. */
static int blk_req(u32 type, u64 sector, void *buf, u32 len)
{
	u32 a[4], l[4];
	u8 w[4];
	int n = 0;
	blk.hdr.type = type, blk.hdr.ioprio = 0, blk.hdr.sector = sector;
	blk.status = 0xee;
	a[n] = (u32)&blk.hdr, l[n] = 16, w[n++] = 0;
	u8 in = type == 0 || type == 8; /* IN, GET_ID: data to the guest */
	if (len > 512) {
		a[n] = (u32)buf, l[n] = 512, w[n++] = in;
		a[n] = (u32)buf + 512, l[n] = len - 512, w[n++] = in;
	} else if (len) {
		a[n] = (u32)buf, l[n] = len, w[n++] = in;
	}
	a[n] = (u32)&blk.status, l[n] = 1, w[n++] = 1;
	return blk_chain(n, a, l, w) < 0 ? -1 : blk.status;
}

static void disk_say(const char *what, int ok)
{
	puts_("disk ");
	puts_(what);
	puts_(ok ? " ok\n" : " FAILED\n");
}

/* The test's pattern: byte i of sector k. */
static u8 pat(u32 k, u32 i, u32 seed)
{
	return (u8)(k * seed + i);
}

/* disk: reads the pattern the test wrote in sectors 0-15, writes sectors
 * 16-23 and flushes, reads the serial, discards 32-39 and zeroes 40-47
 * (when offered), then the hostile requests, each refused, and a read
 * that still works. Lines: "disk WHAT ok" or "disk WHAT FAILED". */
static void disk(const char *cmd)
{
	if (!blk_init()) {
		puts_("probe: no virtio-blk device\n");
		return;
	}
	int ro = (blk.features >> 5) & 1;
	puts_("probe: virtio-blk ");
	putdec((u32)blk.sectors);
	puts_(ro ? " sectors, read-only\n" : " sectors\n");
	int st = blk_req(0, 0, blkbuf, 16 * 512), good = st == 0;
	for (u32 k = 0; good && k < 16; k++)
		for (u32 i = 0; i < 512; i++)
			good = good && blkbuf[k * 512 + i] == pat(k, i, 7);
	disk_say("read 16 sectors: the test's pattern", good);
	memset(blkbuf, 0, 21);
	st = blk_req(8, 0, blkbuf, 20);
	puts_("disk id ");
	puts_((const char *)blkbuf);
	puts_("\n");
	if (ro) {
		disk_say("write to a read-only disk refused (IOERR)",
			 blk_req(1, 16, blkbuf, 512) == 1);
	} else {
		const char *ds = arg(cmd, "dseed");
		u32 seed = ds ? parse_dec(&ds) : 13;
		for (u32 k = 0; k < 8; k++)
			for (u32 i = 0; i < 512; i++)
				blkbuf[k * 512 + i] = pat(16 + k, i, seed);
		disk_say("write 8 sectors",
			 blk_req(1, 16, blkbuf, 8 * 512) == 0);
		disk_say("flush", blk_req(4, 0, 0, 0) == 0);
		struct {
			u64 sector;
			u32 num, flags;
		} seg = {32, 8, 0};
		if (blk.features & (1u << 13))
			disk_say("discard 8 sectors",
				 blk_req(11, 0, &seg, 16) == 0);
		seg.sector = 40;
		if (blk.features & (1u << 14))
			disk_say("write zeroes on 8 sectors",
				 blk_req(13, 0, &seg, 16) == 0);
	}
	const char *bench = arg(cmd, "dbench");
	if (bench) { /* dbench=KIB,MIB,r|w: sequential, KIB per request */
		u32 kib = parse_dec(&bench), mib = 0;
		if (*bench == ',')
			bench++, mib = parse_dec(&bench);
		int wr = *bench == ',' && bench[1] == 'w';
		/* 32-bit sums (no libgcc here): the first 2 TiB at most */
		/* 32-bit sums (no libgcc here): the first 2 TiB at most;
		 * from sector 1024 on, past what the checks read */
		u32 per = kib * 2, n = mib * 1024 / (kib ? kib : 1), bad = 0,
		    total = blk.sectors >> 32 ? 0xffffffffu : (u32)blk.sectors,
		    span = per && total > 1024 ? (total - 1024) / per * per : 0;
		if (!kib || kib > 64 || !span)
			n = 0, bad = 1;
		for (u32 i = 0; i < n; i++)
			bad += blk_req(wr ? 1 : 0, 1024 + i * per % span,
				       blkbuf, kib * 1024) != 0;
		disk_say(wr ? "bench writes done" : "bench reads done", !bad);
		return;
	}
	if (!arg(cmd, "hostile"))
		return;
	u64 end = blk.sectors;
	disk_say("read at the sector past the end refused",
		 blk_req(0, end, blkbuf, 512) == 1);
	disk_say("read across the end refused",
		 blk_req(0, end - 1, blkbuf, 1024) == 1);
	disk_say("read at sector 2^64-1 refused (no overflow)",
		 blk_req(0, ~0ull, blkbuf, 512) == 1);
	disk_say("read of no data refused", blk_req(0, 0, 0, 0) == 1);
	disk_say("read of 100 bytes (not whole sectors) refused",
		 blk_req(0, 0, blkbuf, 100) == 1);
	disk_say("an unknown request type is unsupported",
		 blk_req(99, 0, blkbuf, 512) == 2);
	/* the data buffer is the header itself: the device read the header
	 * first, so it serves the request as asked */
	u32 a[3] = {(u32)&blk.hdr, (u32)&blk.hdr, (u32)&blk.status},
	    l[3] = {16, 512, 1};
	u8 w[3] = {0, 1, 1};
	blk.hdr.type = 0, blk.hdr.sector = 0, blk.status = 0xee;
	disk_say("a read into its own header (overlapping buffers) served",
		 blk_chain(3, a, l, w) >= 0 && blk.status == 0);
	/* no device-writable byte for a status: returned, nothing said */
	blk.hdr.type = 0, blk.hdr.sector = 0;
	u32 a2[1] = {(u32)&blk.hdr}, l2[1] = {16};
	u8 w2[1] = {0};
	disk_say("a chain with nowhere for a status returned untouched",
		 blk_chain(1, a2, l2, w2) == 0);
	st = blk_req(0, 0, blkbuf, 512);
	good = st == 0;
	for (u32 i = 0; good && i < 512; i++)
		good = blkbuf[i] == pat(0, i, 7);
	disk_say("after all that, a read still works", good);
}

struct hvm_start_info {
	u32 magic, version, flags, nr_modules;
	u64 modlist_paddr, cmdline_paddr, rsdp_paddr;
};

static void network(const char *cmd)
{
	if (!vnet_find()) {
		puts_("probe: no virtio-net device\n");
		return;
	}
	if (arg(cmd, "hostile"))
		hostile();
	int leased = 0;
	for (int k = 0; k < nnics; k++) {
		N = &nics[k];
		if (!vnet_init()) {
			puts_("probe: virtio-net refused our features\n");
			return;
		}
		puts_("probe: virtio-net ");
		for (int i = 0; i < 6; i++) {
			puthex(mac[i], 2);
			if (i < 5)
				putc_(':');
		}
		puts_("\n");
	}
	for (int k = 0; k < nnics; k++) {
		N = &nics[k];
		if (!dhcp()) {
			puts_("lease none\n");
			continue;
		}
		leased++;
		puts_("lease ");
		putip(my_ip);
		puts_("\n");
		/* announce: neighbours that tried the address before
		 * (dnsmasq's ping check) learn it now, not after a timer */
		arp_send(1, 0, my_ip);
	}
	if (!leased)
		return;
	/* without MSI-X the device raised INTx for what arrived: the ISR
	 * register says so (and reading it acknowledges) */
	N = nics;
	u8 pending = *isr & 3;
	puts_("probe: isr ");
	putdec(pending);
	puts_("\n");
	const char *c = arg(cmd, "count");
	int count = c && *c >= '0' && *c <= '9' ? (int)parse_dec(&c) : 3;
	const char *p = arg(cmd, "ping"), *sp = arg(cmd, "spoof");
	u32 ip, fake = 0;
	if (sp)
		parse_ip(&sp, &fake);
	while (p && *p != ' ' && *p && parse_ip(&p, &ip)) {
		ping(ip, count);
		if (fake)
			spoof(fake, ip, count);
		if (*p == ',')
			p++;
	}
	const char *s = arg(cmd, "serve");
	if (s) {
		u32 secs = parse_dec(&s);
		puts_("probe: serving\n");
		wait_for(0, 0, secs);
	}
}

/* entered from start.S */
void probe_main(const struct hvm_start_info *si);
void probe_main(const struct hvm_start_info *si)
{
	puts_("probe: up\n");
	outw(0x602, 0x100); /* PM1 enable: the power button (polled) */
	const char *cmd = "";
	if (si->magic != 0x336ec578) {
		puts_("probe: bad start info\n");
	} else if (si->cmdline_paddr) {
		cmd = (const char *)(uintptr_t)si->cmdline_paddr;
		puts_("probe: cmdline ");
		puts_(cmd);
		puts_("\n");
	}
	for (int dev = 0; dev < 32; dev++) {
		u32 id = pci_read(dev, 0);
		if ((id & 0xffff) == 0xffff)
			continue;
		puts_("pci 00:");
		puthex((u32)dev, 2);
		puts_(".0 ");
		puthex(id & 0xffff, 4);
		putc_(':');
		puthex(id >> 16, 4);
		puts_("\n");
	}
	mptable();
	idling = !arg(cmd, "busy");
	deaf = arg(cmd, "deaf") != 0;
	uart_on = arg(cmd, "uart") != 0;
	const char *mute = arg(cmd, "mute") ? arg(cmd, "serve") : 0;
	if (mute) {
		puts_("probe: mute\n");
		wait_for(0, 0, parse_dec(&mute));
	} else {
		if (arg(cmd, "disk"))
			disk(cmd);
		const char *s = arg(cmd, "serve");
		if (!arg(cmd, "nonet")) {
			network(cmd);
		} else if (s) { /* a guest with no network that stays */
			puts_("probe: serving\n");
			wait_for(0, 0, parse_dec(&s));
		}
	}
	puts_("probe: done\n");
	if (arg(cmd, "reset"))
		outb(0x64, 0xfe); /* keyboard controller reset */
	if (arg(cmd, "triplefault")) {
		static const struct {
			u16 limit;
			u32 base;
		} __attribute__((packed)) no_idt = {0, 0};
		__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	}
	outw(0x604, 0x2000); /* ACPI PM1a sleep: power off */
}
