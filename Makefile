# Thin front for CMake. `make run`: set-up, build, main job. `make test`: set-up, build, every test.
# `make reproduce`: every experiment of the paper and the report (OUT=out/reproduce). `make regress`: the reduced
# configuration, checked against the committed baselines in results/regress.
BUILD ?= build
JOBS ?= $(shell nproc)

OUT ?= out/reproduce

.PHONY: setup build run test reproduce regress clean

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: reproduce

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

reproduce: build
	@scripts/run_jobs.sh experiments/reproduce.jobs $(OUT)

regress: build
	@rm -rf out/regress
	@scripts/run_jobs.sh experiments/regress.jobs out/regress
	@$(BUILD)/trk report --check results/regress --results out/regress

clean:
	rm -rf $(BUILD)
