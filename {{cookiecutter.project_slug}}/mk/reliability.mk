# Reliability tooling (included by the Makefile): where a run stands, resuming it, and the soak.
#   make status RUN=<id> [BUCKET=<bucket> | STACK=<stack> | DEPLOYED=1]
#   make resume RUN=<id> [RESUME_ENV="MAX_HOPS=5000 ..."] [TIMEOUT_MS=<ms>]        (a simulated run)
#   make resume RUN=<id> (BUCKET=<bucket> | STACK=<stack> | DEPLOYED=1) [WAIT=<seconds>]  (a deployed one)
#   make soak [RUNS=20] [SEED=1] [JOBS=2]
# Without BUCKET/STACK/DEPLOYED the run is looked up in the state `make simulate` keeps in
# $(STATE_DIR); DEPLOYED=1 means the stack named in samconfig.toml. See python -m devtools.status --help.

RUN ?=
BUCKET ?=
STACK ?=
DEPLOYED ?=
RESUME_ENV ?=
WAIT ?= 0
RUNS ?= 20
JOBS ?= 2
STATE_DIR ?= .simulate/state
SAMCONFIG_STACK = $(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml | head -n 1)
RUN_WHERE = $(if $(strip $(BUCKET)),--bucket "$(BUCKET)") \
  $(if $(strip $(STACK)),--stack "$(STACK)",$(if $(filter 1 yes true,$(DEPLOYED)),--stack "$(SAMCONFIG_STACK)")) \
  --state-dir "$(STATE_DIR)"

.PHONY: status resume soak

# make simulate keeps each run's bucket so that status and resume can find it afterwards.
simulate: override SIM_ARGS += --keep-state "$(STATE_DIR)"

status: $(STAMP) ## where a run stands: make status RUN=<id> [BUCKET=|STACK=|DEPLOYED=1]
	@if [ -z "$(RUN)" ]; then echo "ERROR: say which run: make status RUN=<run id>" >&2; exit 2; fi
	$(PY) -m devtools.status "$(RUN)" $(RUN_WHERE)

resume: $(STAMP) ## continue a failed/stopped run from its last checkpoint: make resume RUN=<id> [RESUME_ENV="MAX_HOPS=5000"]
	@if [ -z "$(RUN)" ]; then echo "ERROR: say which run: make resume RUN=<run id>" >&2; exit 2; fi
	$(PY) -m devtools.resume "$(RUN)" $(RUN_WHERE) $(foreach e,$(RESUME_ENV),--env "$(e)") \
	  $(if $(filter command line environment,$(origin TIMEOUT_MS)),--timeout-ms "$(TIMEOUT_MS)") \
	  $(if $(filter-out 0,$(WAIT)),--wait "$(WAIT)") \
	  $(if $(strip $(BUCKET)$(STACK)$(DEPLOYED)),,--output "$(OUTPUT)" --summary "$(SUMMARY)")

soak: $(STAMP) ## many seeded chains of every fault through the emulator: make soak [RUNS=20] [SEED=1] [JOBS=2]
	$(PY) -m devtools.soak --runs "$(RUNS)" --seed "$(or $(SEED),1)" --jobs "$(JOBS)"
