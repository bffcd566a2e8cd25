# Thin front for CMake. `make run`: set-up, build, main job. `make test`: set-up, build, every test.
# `make reproduce`: every experiment of the paper and the report (OUT=out/reproduce). `make regress`: the reduced
# configuration, checked against the committed baselines in tests/regress. `make slurm-check`: the same list
# through a one-node Slurm cluster started on this machine (scripts/slurm_check.sh). `make reliability`: the
# identification grid on 10 datasets and the report with its reliability table (OUT=out/reliability).
# `make reliability-paper`: trk10 on 10 datasets of the paper's shape, without /validation (OUT=out/reliability_paper).
# `make highdim`: beyond Lorenz-63: Lorenz-96 and Kuramoto-Sivashinsky grids and the noise experiment
# (experiments/identify_l96.jobs, identify_ks.jobs, noise.jobs), then one report with the high-dimensional and noise
# tables and the space-time forecasts (OUT=out/highdim, report in OUT/report). On a shared machine:
# JOB_THREADS=1 and `make highdim HIGHDIM_JOBS=1` run one single-threaded job at a time.
# Quiet: the build's output goes to $(BUILD)/build.log and is shown only when it fails (VERBOSE=1 shows it all).
BUILD ?= build
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

# The output folder; empty: out/reproduce for make reproduce, out/reliability for make reliability.
OUT ?=
HIGHDIM_JOBS ?= $(JOBS)

.PHONY: setup build run test reproduce reliability reliability-paper highdim regress slurm-check clean

setup:
	@scripts/setup.sh

ifeq ($(VERBOSE),1)
build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)
else
build: setup
	@mkdir -p $(BUILD)
	@start=$$(date +%s); log=$(BUILD)/build.log; \
	 printf 'build: cmake + compile, %s jobs (log %s) ...' '$(JOBS)' "$$log"; \
	 if cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >"$$log" 2>&1 && \
	    cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory >>"$$log" 2>&1; then \
	   echo " ok, $$(( $$(date +%s) - start )) s"; \
	 else \
	   echo " FAILED; the errors (whole log: $$log):"; \
	   if grep -q -E 'error|Error' "$$log"; then grep -E -A6 'error|Error' "$$log" | head -60; else tail -40 "$$log"; fi; \
	   exit 1; \
	 fi
endif

run: reproduce

test: build
	@cd $(BUILD) && ctest --output-on-failure --progress -j $(JOBS)

reproduce: build
	@scripts/run_jobs.sh experiments/reproduce.jobs $(or $(OUT),out/reproduce)

reliability: build
	@scripts/run_jobs.sh experiments/reliability_l63.jobs $(or $(OUT),out/reliability)

reliability-paper: build
	@scripts/run_jobs.sh experiments/reliability_paper.jobs $(or $(OUT),out/reliability_paper)

highdim: build
	@out=$(or $(OUT),out/highdim); \
	 scripts/run_jobs.sh -j $(HIGHDIM_JOBS) experiments/identify_l96.jobs $$out/l96 && \
	 scripts/run_jobs.sh -j $(HIGHDIM_JOBS) experiments/identify_ks.jobs $$out/ks && \
	 scripts/run_jobs.sh -j $(HIGHDIM_JOBS) experiments/noise.jobs $$out/noise && \
	 $(BUILD)/trk report --results $$out/l96 $$out/ks $$out/noise --out $$out/report --quiet

regress: build
	@rm -rf out/regress
	@scripts/run_jobs.sh experiments/regress.jobs out/regress
	@$(BUILD)/trk report --check tests/regress --results out/regress

slurm-check: build
	@scripts/slurm_check.sh

clean:
	rm -rf $(BUILD)
