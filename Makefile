# netfabric — top-level build. `make` builds; `make check` installs what a
# fresh Debian 12 machine needs, builds with warnings as errors and runs
# every test; `make run` is the demo.

VERSION := 0.1.0
CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
BUILD := build

PKGS := libxml-2.0 jansson libnl-3.0 libnl-route-3.0 libmnl libnftnl
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-format-truncation \
	  -DNF_VERSION='"$(VERSION)"' -MMD -MP
# make SAN=1: AddressSanitizer and UndefinedBehaviorSanitizer (make check
# runs the unit tests and the protocol test's netd built so, in
# $(BUILD)/san)
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Debian packages: build, run and test dependencies.
DEB_PKGS := build-essential pkg-config libxml2-dev libjansson-dev \
	libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev libcmocka-dev \
	dnsmasq-base dnsmasq-utils iproute2 nftables busybox-static clang clang-format procps psmisc \
	libxml2-utils ethtool qemu-system-x86 bc systemd

LIB_SRCS := lib/nf.c lib/nfaddr.c
NETD_CORE := netd/netxml.c netd/labxml.c netd/store.c netd/proto.c
MODULES := bridge/bridge.c nat/nat.c dhcp/dhcp.c dhcp/dnslog.c tap/tap.c \
	sriov/sriov.c \
	sriov/vfnl.c
NETD_SRCS := $(NETD_CORE) $(MODULES) netd/network.c netd/lifecycle.c \
	netd/port.c netd/vfport.c netd/lab.c netd/update.c netd/doctor.c netd/loop.c \
	netd/request.c netd/server.c netd/netd.c
NETCTL_SRCS := netd/proto.c netd/netctl.c netd/labctl.c netd/labxml.c \
	netd/netxml.c

objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

BINS := $(BUILD)/netd $(BUILD)/netctl $(BUILD)/netvm $(BUILD)/guest/probe.elf
UNIT_TESTS := $(BUILD)/tests/test_netxml $(BUILD)/tests/test_store \
	$(BUILD)/tests/test_conformance $(BUILD)/tests/test_protocol \
	$(BUILD)/tests/test_dnsmasq_conf $(BUILD)/tests/test_modules \
	$(BUILD)/tests/test_virtq $(BUILD)/tests/test_sriov \
	$(BUILD)/tests/test_vfnl $(BUILD)/tests/test_labxml \
	$(BUILD)/tests/test_console

FUZZERS := $(BUILD)/fuzz/fuzz_netxml $(BUILD)/fuzz/fuzz_virtq \
	$(BUILD)/fuzz/fuzz_vpci $(BUILD)/fuzz/fuzz_boot

.PHONY: all deps check check-nested test run bench bench-peer fuzz fuzzers \
	install \
	clean format \
	check-format
all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/netd: $(call objs,$(NETD_SRCS) $(LIB_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/netctl: $(call objs,$(NETCTL_SRCS) $(LIB_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

NETVM_SRCS := vhost/netvm.c vhost/vm.c vhost/boot.c vhost/virtq.c \
	vhost/virtio_pci.c vhost/virtio_net.c vhost/net_user.c vhost/net_vhost.c \
	vhost/console.c vhost/seccomp.c \
	netd/proto.c
$(BUILD)/netvm: $(call objs,$(NETVM_SRCS) $(LIB_SRCS))
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The probe guest: freestanding 32-bit code with a PVH entry note.
GUEST_CFLAGS := -m32 -ffreestanding -fno-pic -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -std=gnu11 -Wall -Wextra -Werror
$(BUILD)/guest/%.o: tests/guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/%.o: tests/guest/%.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c $< -o $@
$(BUILD)/guest/probe.elf: $(BUILD)/guest/start.o $(BUILD)/guest/probe.o \
		tests/guest/probe.ld
	ld -m elf_i386 -nostdlib --no-warn-rwx-segments -T tests/guest/probe.ld \
		-o $@ $(BUILD)/guest/start.o $(BUILD)/guest/probe.o

$(BUILD)/tests/test_netxml: $(call objs,tests/unit/test_netxml.c \
		tests/unit/xmlcmp.c $(NETD_CORE) $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_store: $(call objs,tests/unit/test_store.c \
		$(NETD_CORE) $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_protocol: $(call objs,tests/unit/test_protocol.c \
		tests/common/netd_spawn.c $(NETD_CORE) $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_dnsmasq_conf: $(call objs,tests/unit/test_dnsmasq_conf.c \
		dhcp/dhcp.c dhcp/dnslog.c $(NETD_CORE) $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/test_modules: $(call objs,tests/unit/test_modules.c \
		tap/tap.c $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/test_virtq: $(call objs,tests/unit/test_virtq.c vhost/virtq.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/test_sriov: $(call objs,tests/unit/test_sriov.c sriov/sriov.c \
		$(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/test_vfnl: $(call objs,tests/unit/test_vfnl.c sriov/vfnl.c \
		$(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lmnl -lcmocka

$(BUILD)/tests/test_console: $(call objs,tests/unit/test_console.c \
		vhost/console.c $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/test_labxml: $(call objs,tests/unit/test_labxml.c \
		$(NETD_CORE) $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_conformance: $(call objs,tests/unit/test_conformance.c \
		tests/unit/xmlcmp.c $(NETD_CORE) $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# Installs missing Debian packages; silent when everything is there.
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: run as root to install these"; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
			|| exit 1; \
	fi

check: deps
	$(MAKE) check-format
	$(MAKE) all tests
	$(MAKE) BUILD=$(BUILD)/san SAN=1 $(BUILD)/san/netd \
		$(patsubst $(BUILD)/%,$(BUILD)/san/%,$(UNIT_TESTS))
	@NF_SAN_BUILD=$(BUILD)/san tests/run-tests.sh $(BUILD)

# only the nested test bed: stock-Linux guests and vhost-net under QEMU
# (make check runs it too, as tests/integration/nested.sh)
check-nested: deps
	$(MAKE) all
	@tests/nested/run.sh $(BUILD) $(or $(SCENARIOS),all)

# helpers the integration tests run (not tests by themselves)
HELPERS := $(BUILD)/helpers/guest_ports $(BUILD)/helpers/hostile
$(BUILD)/helpers/hostile: $(call objs,tests/hostile/hostile.c netd/proto.c \
		$(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/helpers/guest_ports: $(call objs,tests/guestsim/test_ports.c \
		tests/guestsim/frames.c netd/proto.c $(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

tests: $(BINS) $(UNIT_TESTS) $(HELPERS) $(FUZZERS)

run: deps
	$(MAKE) all
	@tests/demo.sh $(BUILD)

BENCH_COMMON := tests/bench/benchutil.c tests/common/netd_spawn.c \
	$(NETD_CORE) $(LIB_SRCS)
BENCHES := $(BUILD)/bench/bench_defs $(BUILD)/bench/bench_net \
	$(BUILD)/bench/bench_ports

$(BUILD)/bench/%: $(call objs,tests/bench/%.c $(BENCH_COMMON))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bench: deps
	$(MAKE) all $(BENCHES)
	@for b in $(BENCHES); do NF_BUILD=$(abspath $(BUILD)) $$b || exit 1; \
		echo; done
	@NF_BUILD=$(abspath $(BUILD)) tests/bench/netvm.sh
	@echo; NF_BUILD=$(abspath $(BUILD)) tests/bench/lab.sh

# libvirt side by side (skips when libvirt is not installed)
bench-peer: deps
	$(MAKE) all
	@tests/bench/peer.sh $(BUILD)

# Fuzz targets (libFuzzer, ASan, UBSan): the network XML parser, the
# virtqueue, the virtio-pci transport and the kernel loader. `make fuzz`
# runs each FUZZ_SECONDS from its seeds (tests/fuzz/*-seed*, the XML
# corpora); make check replays the seeds (tests/integration/fuzz.sh).
FUZZ_SECONDS ?= 60
FUZZ_CC = clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/fuzz_netxml: tests/fuzz/fuzz_netxml.c $(NETD_CORE) $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -DNF_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -o $@ $^ \
		$(PKG_LIBS)
$(BUILD)/fuzz/fuzz_virtq: tests/fuzz/fuzz_virtq.c vhost/virtq.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -o $@ $^
$(BUILD)/fuzz/fuzz_vpci: tests/fuzz/fuzz_vpci.c vhost/virtio_pci.c \
		vhost/virtq.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -o $@ $^ -lpthread
$(BUILD)/fuzz/fuzz_boot: tests/fuzz/fuzz_boot.c vhost/boot.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -o $@ $^
fuzzers: $(FUZZERS)

fuzz: deps
	$(MAKE) all fuzzers
	@tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

install: all
	install -D -m 0755 $(BUILD)/netd $(DESTDIR)$(PREFIX)/sbin/netd
	install -D -m 0755 $(BUILD)/netctl $(DESTDIR)$(PREFIX)/bin/netctl
	install -D -m 0755 $(BUILD)/netvm $(DESTDIR)$(PREFIX)/bin/netvm
	install -D -m 0644 $(BUILD)/guest/probe.elf \
		$(DESTDIR)$(PREFIX)/lib/netfabric/probe.elf
	install -D -m 0644 doc/netd.8 $(DESTDIR)$(PREFIX)/share/man/man8/netd.8
	install -D -m 0644 doc/netvm.1 $(DESTDIR)$(PREFIX)/share/man/man1/netvm.1
	install -D -m 0644 doc/netctl.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/netctl.1
	install -D -m 0644 contrib/netd.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/netd.service
	sed -i 's|@SBINDIR@|$(PREFIX)/sbin|' \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/netd.service
	install -D -m 0644 contrib/netctl.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/netctl
	@# lab guests run as this user (netd --guest-user); a package makes
	@# it in its own scripts, so not when staging into DESTDIR
	@if [ -z "$(DESTDIR)" ] && ! getent passwd netfabric >/dev/null; then \
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin netfabric && \
		echo "created system user netfabric (lab guests run as it)"; \
	fi

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

check-format:
	@bad=$$(for f in $$(git ls-files --cached --others --exclude-standard '*.c' '*.h'); do \
		clang-format --dry-run $$f 2>&1 | grep -q warning && echo $$f; \
		done); [ -z "$$bad" ] || { echo "needs clang-format: $$bad"; exit 1; }

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
