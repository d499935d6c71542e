# netfabric — top-level build. `make` builds; `make check` installs what a
# fresh Debian 12 machine needs, builds with warnings as errors and runs
# every test; `make run` is the demo.

VERSION := 0.1.0
CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
BUILD := build

PKGS := libxml-2.0 jansson libnl-3.0 libnl-route-3.0 libmnl libnftnl
# CFLAGS is yours (make CFLAGS=-O0); what the build needs is in NF_CFLAGS
CFLAGS ?= -O2 -g
WERROR ?= 1
WARNINGS := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wshadow
NF_CFLAGS := -std=gnu11 $(WARNINGS) $(if $(filter 1,$(WERROR)),-Werror) \
	-DNF_VERSION='"$(VERSION)"' -MMD -MP
# make SAN=1: AddressSanitizer and UndefinedBehaviorSanitizer (make check
# runs the unit tests and the protocol test's netd built so, in
# $(BUILD)/san)
ifeq ($(SAN),1)
NF_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
COMPILE = $(CC) $(NF_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS)
LINK = $(CC) $(NF_CFLAGS) $(CFLAGS) $(LDFLAGS)

# Debian packages: build, run and test dependencies.
DEB_PKGS := build-essential pkg-config libxml2-dev libjansson-dev \
	libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev libcmocka-dev \
	dnsmasq-base dnsmasq-utils iproute2 nftables busybox-static clang clang-format procps psmisc \
	libxml2-utils ethtool qemu-system-x86 qemu-utils dosfstools mtools python3-yaml mmdebstrap openssh-client bc systemd jq universal-ctags \
	bash-completion groff-base man-db libvirt-daemon libvirt-clients iptables

# What each program is made of. lib/ is shared by all (libnf.a); the
# model (network and lab XML, the definition store) by netd, netctl and
# the tests (libmodel.a); the host modules take their own specs.
LIB_SRCS := lib/nf.c lib/nfaddr.c lib/nfjson.c lib/proto.c lib/cmds.c
MODEL_SRCS := netd/netxml.c netd/labxml.c netd/labplan.c netd/store.c \
	netd/portxml.c
MODULE_SRCS := bridge/bridge.c nat/nat.c dhcp/dhcp.c dhcp/dnslog.c \
	tap/tap.c sriov/sriov.c sriov/vfnl.c vhost/qsd.c
NETD_SRCS := $(MODULE_SRCS) netd/dhcpspec.c netd/network.c \
	netd/vfport.c netd/pin.c netd/port.c netd/foreign.c netd/lifecycle.c netd/update.c netd/lab.c \
	netd/doctor.c netd/dispatch.c netd/loop.c netd/request.c \
	netd/server.c netd/netd.c
NETCTL_SRCS := netctl/netctl.c netctl/labctl.c netctl/args.c netctl/portctl.c
HELPER_SRCS := netctl/bridgehelper.c
NETVM_SRCS := vhost/netvm.c vhost/vm.c vhost/devices.c vhost/boot.c \
	vhost/virtq.c vhost/virtio_pci.c vhost/virtio_net.c vhost/virtio_blk.c \
	vhost/qsd.c vhost/nbd.c \
	vhost/net_user.c vhost/net_vhost.c vhost/console.c vhost/seccomp.c

objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBNF := $(BUILD)/libnf.a
LIBMODEL := $(BUILD)/libmodel.a

BINS := $(BUILD)/netd $(BUILD)/netctl $(BUILD)/netvm $(BUILD)/guest/probe.elf \
	$(BUILD)/netd-bridge-helper
EXAMPLES := $(wildcard examples/*.xml)

.PHONY: all deps check check-nested test run bench bench-peer fuzz fuzzers \
	install uninstall clean format check-format compdb tags
all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) -c $< -o $@

$(LIBNF): $(call objs,$(LIB_SRCS))
$(LIBMODEL): $(call objs,$(MODEL_SRCS))
$(BUILD)/%.a:
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/netd: $(call objs,$(NETD_SRCS)) $(LIBMODEL) $(LIBNF)
	$(LINK) -o $@ $^ $(PKG_LIBS)

$(BUILD)/netd-bridge-helper: $(call objs,$(HELPER_SRCS)) $(LIBNF)
	$(LINK) -o $@ $^ $(PKG_LIBS)

$(BUILD)/netctl: $(call objs,$(NETCTL_SRCS)) $(LIBMODEL) $(LIBNF)
	$(LINK) -o $@ $^ $(PKG_LIBS)

$(BUILD)/netvm: $(call objs,$(NETVM_SRCS)) $(LIBNF)
	$(LINK) -o $@ $^ $(PKG_LIBS)

# The probe guest: freestanding 32-bit code with a PVH entry note.
GUEST_CFLAGS := -m32 -ffreestanding -fno-pic -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -std=gnu11 $(WARNINGS) \
	$(if $(filter 1,$(WERROR)),-Werror)
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

# Unit tests: build/tests/test_X is tests/unit/test_X.c plus test_X_SRCS,
# linked with libmodel.a, libnf.a and test_X_LIBS (cmocka for all).
UNIT_NAMES := netxml store conformance protocol dnsmasq_conf modules virtq \
	sriov vfnl labxml console pin labplan
UNIT_TESTS := $(patsubst %,$(BUILD)/tests/test_%,$(UNIT_NAMES))
test_netxml_SRCS := tests/unit/xmlcmp.c
test_conformance_SRCS := tests/unit/xmlcmp.c
test_protocol_SRCS := tests/common/netd_spawn.c
test_dnsmasq_conf_SRCS := dhcp/dhcp.c dhcp/dnslog.c netd/dhcpspec.c
test_modules_SRCS := tap/tap.c
test_virtq_SRCS := vhost/virtq.c
test_sriov_SRCS := sriov/sriov.c
test_vfnl_SRCS := sriov/vfnl.c
test_console_SRCS := vhost/console.c
test_pin_SRCS := netd/pin.c

.SECONDEXPANSION:
# objects made through pattern rules are kept (no rebuild next time)
.SECONDARY:
$(BUILD)/tests/test_%: $$(call objs,tests/unit/test_$$*.c $$(test_$$*_SRCS)) \
		$(LIBMODEL) $(LIBNF)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(PKG_LIBS) -lcmocka

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
		$(patsubst $(BUILD)/%,$(BUILD)/san/%,$(UNIT_TESTS) $(REPLAYS))
	@NF_SAN_BUILD=$(BUILD)/san tests/run-tests.sh $(BUILD)

# only the nested test bed: stock-Linux guests and vhost-net under QEMU
# (make check runs it too, as tests/integration/nested.sh)
check-nested: deps
	$(MAKE) all
	@tests/nested/run.sh $(BUILD) $(or $(SCENARIOS),all)

# helpers the integration tests run (not tests by themselves)
HELPERS := $(BUILD)/helpers/guest_ports $(BUILD)/helpers/hostile \
	$(BUILD)/helpers/tapsink
$(BUILD)/helpers/tapsink: $(call objs,tests/guestsim/tapsink.c) $(LIBNF)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(PKG_LIBS)
$(BUILD)/helpers/hostile: $(call objs,tests/hostile/hostile.c) $(LIBNF)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(PKG_LIBS)
$(BUILD)/helpers/guest_ports: $(call objs,tests/guestsim/test_ports.c \
		tests/guestsim/frames.c) $(LIBNF)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(PKG_LIBS)

tests: $(BINS) $(UNIT_TESTS) $(HELPERS) $(FUZZERS)

run: deps
	$(MAKE) all
	@tests/demo.sh $(BUILD)

BENCH_COMMON := tests/bench/benchutil.c tests/bench/kfloor.c \
	tests/common/netd_spawn.c
BENCHES := $(BUILD)/bench/bench_defs $(BUILD)/bench/bench_net \
	$(BUILD)/bench/bench_ports

$(BUILD)/bench/%: $$(call objs,tests/bench/$$*.c $(BENCH_COMMON)) \
		$(LIBMODEL) $(LIBNF)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(PKG_LIBS)

bench: deps
	$(MAKE) all $(BENCHES)
	@for b in $(BENCHES); do NF_BUILD=$(abspath $(BUILD)) $$b || exit 1; \
		echo; done
	@NF_BUILD=$(abspath $(BUILD)) tests/bench/netvm.sh
	@echo; NF_BUILD=$(abspath $(BUILD)) tests/bench/disk.sh
	@echo; NF_BUILD=$(abspath $(BUILD)) tests/bench/lab.sh
	@echo; NF_BUILD=$(abspath $(BUILD)) tests/bench/stp.sh
	@echo; NF_BUILD=$(abspath $(BUILD)) tests/bench/nested_boot.sh

# libvirt side by side (skips when libvirt is not installed)
bench-peer: deps
	$(MAKE) all
	@tests/bench/peer.sh $(BUILD)

# Fuzz targets (libFuzzer, ASan, UBSan): the network XML parser, the
# virtqueue, the virtio-pci transport, the kernel loader, virtio-blk's
# requests and the NBD client's replies. `make fuzz`
# runs each FUZZ_SECONDS from its seeds (tests/fuzz/*-seed*, the XML
# corpora); make check replays the seeds (tests/integration/fuzz.sh).
FUZZ_SECONDS ?= 60
FUZZ_CC = clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-DNF_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
FUZZERS := $(BUILD)/fuzz/fuzz_netxml $(BUILD)/fuzz/fuzz_virtq \
	$(BUILD)/fuzz/fuzz_vpci $(BUILD)/fuzz/fuzz_boot $(BUILD)/fuzz/fuzz_vblk \
	$(BUILD)/fuzz/fuzz_nbd
fuzz_netxml_SRCS := $(MODEL_SRCS) $(LIB_SRCS)
fuzz_virtq_SRCS := vhost/virtq.c
fuzz_vpci_SRCS := vhost/virtio_pci.c vhost/virtq.c $(LIB_SRCS)
fuzz_boot_SRCS := vhost/boot.c $(LIB_SRCS)
fuzz_vblk_SRCS := vhost/virtio_blk.c vhost/nbd.c vhost/virtq.c $(LIB_SRCS)
fuzz_nbd_SRCS := vhost/nbd.c $(LIB_SRCS)
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(fuzz_$$*_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -o $@ $^ $(PKG_LIBS) -lpthread
fuzzers: $(FUZZERS)
# the same targets without libFuzzer, replaying a corpus (tests/fuzz/replay.c):
# make check builds them with SAN=1 and replays every seed through them
REPLAYS := $(patsubst $(BUILD)/fuzz/fuzz_%,$(BUILD)/fuzz/replay_%,$(FUZZERS))
$(BUILD)/fuzz/replay_%: $$(call objs,tests/fuzz/fuzz_$$*.c tests/fuzz/replay.c \
		$$(fuzz_$$*_SRCS)) $(LIBNF)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(PKG_LIBS)

fuzz: deps
	$(MAKE) all fuzzers
	@tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

install: all
	install -D -m 0755 $(BUILD)/netd $(DESTDIR)$(PREFIX)/sbin/netd
	install -D -m 0755 $(BUILD)/netctl $(DESTDIR)$(PREFIX)/bin/netctl
	install -D -m 0755 $(BUILD)/netvm $(DESTDIR)$(PREFIX)/bin/netvm
	install -D -m 0755 $(BUILD)/netd-bridge-helper \
		$(DESTDIR)$(PREFIX)/libexec/netd-bridge-helper
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
	install -d $(DESTDIR)$(PREFIX)/share/doc/netfabric/examples
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(PREFIX)/share/doc/netfabric/examples/
	@# lab guests run as this user (netd --guest-user); a package makes
	@# it in its own scripts, so not when staging into DESTDIR
	@if [ -z "$(DESTDIR)" ] && ! getent passwd netfabric >/dev/null; then \
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin netfabric && \
		echo "created system user netfabric (lab guests run as it)"; \
	fi

# what install put there (the netfabric user stays: files may be its)
INSTALLED = sbin/netd bin/netctl bin/netvm libexec/netd-bridge-helper \
	lib/netfabric/probe.elf \
	share/man/man8/netd.8 share/man/man1/netvm.1 share/man/man1/netctl.1 \
	lib/systemd/system/netd.service \
	share/bash-completion/completions/netctl \
	$(patsubst examples/%,share/doc/netfabric/examples/%,$(EXAMPLES))
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))
	-rmdir $(DESTDIR)$(PREFIX)/share/doc/netfabric/examples \
		$(DESTDIR)$(PREFIX)/share/doc/netfabric \
		$(DESTDIR)$(PREFIX)/lib/netfabric 2>/dev/null

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

check-format:
	@bad=$$(for f in $$(git ls-files --cached --others --exclude-standard '*.c' '*.h'); do \
		clang-format --dry-run $$f 2>&1 | grep -q warning && echo $$f; \
		done); [ -z "$$bad" ] || { echo "needs clang-format: $$bad"; exit 1; }

# compile_commands.json for clangd and other tools: every C file of the
# host programs and tests, with the flags this Makefile compiles it with
ALL_SRCS = $(sort $(LIB_SRCS) $(MODEL_SRCS) $(NETD_SRCS) $(NETCTL_SRCS) \
	$(HELPER_SRCS) $(NETVM_SRCS) $(foreach t,$(UNIT_NAMES),tests/unit/test_$(t).c \
	$(test_$(t)_SRCS)) tests/hostile/hostile.c $(wildcard tests/guestsim/*.c) \
	$(BENCH_COMMON) $(wildcard tests/bench/*.c))
COMPDB ?= compile_commands.json
compdb:
	@{ echo '['; sep=' '; \
	for f in $(ALL_SRCS); do \
		cmd=$$(printf '%s' "$(subst ",\",$(COMPILE)) -c $$f -o $(BUILD)/obj/$${f%.c}.o" | \
			sed 's/\\/\\\\/g; s/"/\\"/g'); \
		printf '%s{"directory": "%s", "file": "%s", "command": "%s"}\n' \
			"$$sep" "$(CURDIR)" "$$f" "$$cmd"; sep=','; \
	done; echo ']'; } >$(COMPDB)
	@echo "$(COMPDB): $(words $(ALL_SRCS)) files"

tags:
	@command -v ctags >/dev/null || { echo "make tags: needs ctags" \
		"(apt-get install universal-ctags)"; exit 1; }
	ctags -R --languages=C --exclude=build --exclude='.*' .

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(BUILD)/nested -prune -o -name '*.d' -type f -print 2>/dev/null)
