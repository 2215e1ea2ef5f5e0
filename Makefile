# Thin wrappers around CMake.  `make run` and `make test` install what is
# missing on a fresh Debian 12 machine (as root), build, and run.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
NASD_FLAGS ?=

DEB_PACKAGES := build-essential cmake pkg-config libtirpc-dev libboost-dev liburing-dev \
  libspdlog-dev libgtest-dev libgmock-dev prometheus-cpp-dev libcli11-dev libnfs-dev \
  libnfs-utils python3 clang libclang-rt-dev

.PHONY: all deps build run test unit e2e e2e-v4 e2e-v4-minors e2e-access deploy-test container-test asan tsan fuzz clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	  | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	mkdir -p export state
	$(BUILD_DIR)/nasd --export "$(CURDIR)/export *(rw,no_root_squash,insecure)" \
	  --state-dir "$(CURDIR)/state" --metrics 0.0.0.0:9464 $(NASD_FLAGS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

e2e: build
	bash tests/e2e/run.sh $(BUILD_DIR)/nasd

# The same real-work script over NFSv4.2, crash/restart step with reclaim included.
e2e-v4: build
	E2E_VERS=4.2 E2E_LOG_DIR=$(BUILD_DIR)/e2e-logs-v4.2 bash tests/e2e/run.sh $(BUILD_DIR)/nasd

# Access control through the Linux client as root and two users: ro,
# root_squash, all_squash/anonuid, secure and per-user exports, NFSv3 + 4.2,
# with ownership checked on the server side (one VM run, ~2 min).
e2e-access: build
	bash tests/e2e/access_control_run.sh $(BUILD_DIR)/nasd

# The same script over NFSv4.0 and NFSv4.1, crash/restart step with reclaim
# included (one VM run each, one after the other; ~3-9 min each depending on
# load, of which the restart step is ~1.4 min).
e2e-v4-minors: build
	E2E_VERS=4.0 E2E_LOG_DIR=$(BUILD_DIR)/e2e-logs-v4.0 bash tests/e2e/run.sh $(BUILD_DIR)/nasd
	E2E_VERS=4.1 E2E_LOG_DIR=$(BUILD_DIR)/e2e-logs-v4.1 bash tests/e2e/run.sh $(BUILD_DIR)/nasd

# A real Prometheus scraping nasd (tests/deploy/prometheus_test.sh, < 2 min).
deploy-test: build
	bash tests/deploy/prometheus_test.sh $(BUILD_DIR)/nasd

# Image from deploy/Dockerfile built with podman (base made with debootstrap),
# mounted by a Linux guest, capabilities checked.  ~8.5 min on a fresh
# machine; later runs reuse the base image, the apt layers and ccache.
container-test:
	bash tests/deploy/container_test.sh


# Reliability (docs/reliability.md): unit + integration tests under ASan+UBSan,
# the pool and pipeline tests under TSan, each libFuzzer target for
# FUZZ_SECONDS.  Only the targets needed are built in each directory.
FUZZ_SECONDS ?= 60
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNASD_SANITIZE=address >/dev/null
	cmake --build build-asan -j$(JOBS) --target nasd test_pool test_protocol test_storage test_server test_integration
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)

tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNASD_SANITIZE=thread >/dev/null
	cmake --build build-tsan -j$(JOBS) --target test_pool test_server test_storage
	TSAN_OPTIONS=halt_on_error=1 build-tsan/test_pool
	TSAN_OPTIONS=halt_on_error=1 build-tsan/test_server --gtest_filter='*PipelineTest.*'
	TSAN_OPTIONS=halt_on_error=1 build-tsan/test_storage \
	  --gtest_filter='BackendTest.*:EntryAttrCache*:DirWatch*:DirEntryCache*:ReaddirCache*'

fuzz: deps
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)


# CI: everything, one VM at a time (the targets run in this order).
test: unit e2e e2e-v4 e2e-v4-minors e2e-access deploy-test container-test fuzz tsan asan

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz
