# Thin wrappers around CMake.  `make run` and `make test` install what is
# missing on a fresh Debian 12 machine (as root), build, and run.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
NASD_FLAGS ?=

DEB_PACKAGES := build-essential cmake pkg-config libtirpc-dev libboost-dev liburing-dev \
  libspdlog-dev libgtest-dev libgmock-dev prometheus-cpp-dev libcli11-dev libnfs-dev \
  libnfs-utils python3

.PHONY: all deps build run test unit e2e e2e-v4 deploy-test container-test clean

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

# The same real-work script over NFSv4.2 (restart step skipped: no grace yet).
e2e-v4: build
	E2E_VERS=4.2 E2E_LOG_DIR=$(BUILD_DIR)/e2e-logs-v4.2 bash tests/e2e/run.sh $(BUILD_DIR)/nasd


# A real Prometheus scraping nasd (tests/deploy/prometheus_test.sh, < 2 min).
deploy-test: build
	bash tests/deploy/prometheus_test.sh $(BUILD_DIR)/nasd

# Image from deploy/Dockerfile built with podman (base made with debootstrap),
# mounted by a Linux guest.  ~8.5 min from scratch, ~3.5 min with the base cached.
container-test:
	bash tests/deploy/container_test.sh

test: unit e2e e2e-v4 deploy-test

clean:
	rm -rf $(BUILD_DIR)
