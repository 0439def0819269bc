# The two set-up commands of the README:
#   make run   installs what is missing, builds, shows `vulkaninfo --summary` through PearVisor
#   make test  the same set-up, then every test (plain build and ASan/UBSan build)
#   make fuzz  the libFuzzer harnesses, FUZZ_SECONDS each (default 60), findings in fuzz/regressions/
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
MESON_FLAGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test test-stress fuzz format format-check clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

$(SANITIZE_BUILD)/build.ninja:
	meson setup $(SANITIZE_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/pearvisor run -- vulkaninfo --summary

test: deps
	@scripts/run-tests.sh $(BUILD) $(SANITIZE_BUILD)

# One server, eight guests and a hostile client for 50 rounds (tests/e2e/stress.py), alone;
# `make test` runs it too.
test-stress: build
	meson test -C $(BUILD) --print-errorlogs --suite stress

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)

# A real VM: QEMU 10 (Debian 13 chroot, scripts/vm-setup.sh) with a virtio-gpu venus device and
# the stock Mesa venus driver in the guest; vulkaninfo and the five GPU test programs must run
# there with their native checksums. VM_RENDERER_LIB=DIR makes QEMU load DIR/libvirglrenderer.so.1
# instead of the stock virglrenderer, and the test fails unless QEMU really mapped that file.
VM_RENDERER_LIB ?=
VM_ARGS ?=

.PHONY: test-vm
test-vm: build
	@scripts/vm-setup.sh
	tests/vm/run_vm.py $(if $(VM_RENDERER_LIB),--renderer-lib $(VM_RENDERER_LIB)) \
		--guest-layer $(BUILD)/guest $(VM_ARGS) \
		$(addprefix $(BUILD)/tests/programs/pv-test-,compute transfer clear graphics sync clocks)
