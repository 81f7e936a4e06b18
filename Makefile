# buoy — plain Makefile. `make`, `make test`, `make check`, `make bench`, `make fuzz`, `make demo`.
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PYTHON  ?= /usr/bin/python3
PKGS    := libcyaml yaml-0.1 libmnl openssl libnftables json-c

OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror $(OPT) $(SAN) -D_GNU_SOURCE -Isrc \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS += $(SAN)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

SRC      := $(sort $(filter-out src/bpf/%,$(wildcard src/*.c src/*/*.c)))
# the version lives in one generated file, rewritten only when it changes, so that a new
# commit relinks with the right `buoy version` without recompiling everything
OBJ      := $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/version.o
LIB_OBJ  := $(filter-out $(BUILD)/src/main.o,$(OBJ))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Test drivers (e.g. vipctl): small programs over libbuoy.a that integration tests run.
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BIN      := $(if $(filter build,$(BUILD)),buoy,$(BUILD)/buoy)

# Debian version: commits since the start, then the describe string (sorts, and says what it is)
DEB_VERSION = 0.1+git$(shell git rev-list --count HEAD 2>/dev/null || echo 0).$(subst -,.,$(VERSION))
DEB_DIR     := $(BUILD)/deb

.PHONY: image deb all test unit tools integration check bench bench-udp bench-failover bench-instructions fuzz soak demo format-check install clean deps deps-test deps-bench deps-demo
all: $(BIN)

# The fast path (issue 21) loads libbpf with dlopen when fast_path asks for it: the daemon does
# not link it (a host or image without libbpf1 runs the relay; the image stays small).

$(BIN): $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char buoy_version[] = "$(VERSION)";' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/gen/version.o: $(BUILD)/gen/version.c
	$(CC) $(CFLAGS) -c -o $@ $<

# The fast path's BPF program (issue 21), embedded through a libbpf skeleton: clang -target bpf,
# then bpftool gen skeleton. No sanitizer flags: it runs in the kernel.
BPF_CLANG ?= clang
$(BUILD)/gen/fastpath.bpf.o: src/bpf/fastpath.bpf.c src/proxy/fastpath_key.h
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -target bpf -O2 -g -Wall -Werror -Isrc -I/usr/include/$(shell $(CC) -print-multiarch) -c -o $@ $<
$(BUILD)/gen/fastpath.skel.h: $(BUILD)/gen/fastpath.bpf.o
	bpftool gen skeleton $< name fastpath_bpf > $@.tmp && mv $@.tmp $@
$(BUILD)/src/proxy/fastpath.o: $(BUILD)/gen/fastpath.skel.h
$(BUILD)/src/proxy/fastpath.o: CFLAGS += -I$(BUILD)/gen

.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libbuoy.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libbuoy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbuoy.a $(LDLIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libbuoy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbuoy.a $(LDLIBS)

tools: $(TOOL_BIN)

deps:
	@scripts/deps build
deps-test:
	@scripts/deps test
deps-bench:
	@scripts/deps bench
deps-demo:
	@scripts/deps demo

# Fails with a unified diff if a tracked .c/.h file differs from .clang-format (clang-format 14).
format-check:
	@scripts/deps format
	@scripts/format-check

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: $(BIN) tools
	BUOY_BIN=$(abspath $(BIN)) BUOY_TOOLS=$(abspath $(BUILD)/tools) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# The whole suite: unit tests (cmocka) then topology tests (pytest, network namespaces; needs root).
test: deps-test
	$(MAKE) unit
	$(MAKE) integration

# Same suite under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer).
check: deps-test
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(MAKE) BUILD=build/san OPT="-O1 -g" SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  PYTEST_ARGS="-m 'not artifact' $(PYTEST_ARGS)" unit integration

bench: deps-bench $(BIN)
	BUOY_BIN=$(abspath $(BIN)) bench/bench.sh $(ARGS)

bench-udp: deps-bench $(BIN)
	BUOY_BIN=$(abspath $(BIN)) bench/udp_bench.sh $(ARGS)

bench-failover: deps-test $(BIN)
	BUOY_BIN=$(abspath $(BIN)) $(PYTHON) bench/failover.py $(ARGS)

# User-space instructions per request (callgrind) for buoy, HAProxy and nginx stream: exact
# counts, unlike req/s on a shared machine; the kernel's share is not counted (needs root).
bench-instructions: deps-bench $(BIN)
	BUOY_BIN=$(abspath $(BIN)) bench/instructions.sh $(ARGS)

fuzz: deps-test
	@scripts/fuzz.sh $(ARGS)

# Not in CI: SOAK_SECONDS (default 600) of wrk load through buoy with backend kills, link flaps
# and reloads; errors outside fault windows, fd count and RSS at start and end (needs root).
soak: deps-bench $(BIN)
	BUOY_BIN=$(abspath $(BIN)) scripts/soak.sh $(ARGS)

# The HA scenario in network namespaces (root); ARGS=--keep leaves it up, ARGS=--no-preempt.
demo: deps-demo
	$(MAKE) $(BIN)
	BUOY_BIN=$(abspath $(BIN)) scripts/demo.sh $(ARGS)

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/buoy
	install -D -m 0644 examples/buoy.yaml $(DESTDIR)/etc/buoy/buoy.yaml.example
	@if [ -d docs/man ]; then for m in docs/man/*.[0-9]; do s=$${m##*.}; \
	  install -D -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m); done; fi
	@if [ -f packaging/buoy.service ]; then install -d $(DESTDIR)/lib/systemd/system && \
	  sed 's|/usr/local/sbin/buoy|$(PREFIX)/sbin/buoy|g' packaging/buoy.service \
	  > $(DESTDIR)/lib/systemd/system/buoy.service && \
	  chmod 0644 $(DESTDIR)/lib/systemd/system/buoy.service; fi

# The .deb (debian/, debhelper), built from a copy of the working tree so that this tree's
# build/ and ./buoy stay as they are; lintian must report no error and no warning.
deb:
	@scripts/deps deb
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/buoy
	git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf - | \
	  tar -xf - -C $(DEB_DIR)/buoy
	sed -i '1s/^buoy ([^)]*)/buoy ($(DEB_VERSION))/' $(DEB_DIR)/buoy/debian/changelog
	cd $(DEB_DIR)/buoy && dpkg-buildpackage -us -uc -b -j2 >../build.log 2>&1 || \
	  { tail -40 ../build.log; exit 1; }
	lintian --fail-on error,warning $(DEB_DIR)/buoy_$(DEB_VERSION)_*.changes
	@ls $(DEB_DIR)/buoy_$(DEB_VERSION)_*.deb

# The OCI image buoy:$(VERSION) (scripts/image.sh: from scratch with buildah) and its archive
# $(BUILD)/buoy-$(VERSION).oci.tar; its root file system stays in $(BUILD)/image/rootfs.
image: $(BIN)
	@scripts/deps image
	scripts/image.sh $(BIN) $(VERSION) $(BUILD)

# `buoy manifest systemd` embeds the unit file (.incbin in src/ctl/manifest.c)
$(BUILD)/src/ctl/manifest.o: packaging/buoy.service

clean:
	rm -rf build buoy

-include $(OBJ:.o=.d)
