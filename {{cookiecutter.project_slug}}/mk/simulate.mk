# The local emulator (included by the Makefile): the deployed handler's whole recursive chain on
# this machine, with moto's S3 server and an emulated Lambda on 127.0.0.1. No Docker, no AWS.
#   make simulate INPUT=<file> [TIMEOUT_MS=<ms>] [FAULTS=<spec>] [SEED=<n>] [OUTPUT=<file>] [SUMMARY=<file>]
#   FAULTS: comma-separated kill:P, duplicate:P, recycle:P, overwrite:H, deploy:H, retries:N  (e.g. kill:0.2,retries:4);
#   deploy:H publishes a new version before hop H (the run must stay on its own)
#   VERBOSE=1 shows the handler's logs on the terminal (else they go to $(SIM_LOG));
#   PARAMS="MaxHops=50 OnObjectChange=restart" overrides stack parameters, as for make deploy (the
#   emulator reads the function's configuration from template.yaml and samconfig.toml);
#   BUILD=1 runs what make deploy ships: sam build for this machine's architecture, then the chain
#   on that build, each sandbox on the runtime's Python with only the AWS SDK beside the package
#   (a dependency missing from requirements.txt or an import of a dev-only module fails here);
#   SIM_ARGS passes more flags, e.g. SIM_ARGS="--env MAX_HOPS=50" (python -m devtools.simulate --help).

INPUT ?=
TIMEOUT_MS ?=  # default: the function's Timeout in template.yaml (with PARAMS)
FAULTS ?=
SEED ?=
OUTPUT ?= .simulate/output.{% if cookiecutter.processing_mode == "bytes" %}bin{% else %}jsonl{% endif %}
SUMMARY ?= .simulate/summary.json
SIM_LOG ?= .simulate/simulate.log
SIM_ARGS ?=
BUILD ?=
SIM_BUILD := $(filter 1 yes true,$(BUILD))

.PHONY: simulate

simulate: $(STAMP) $(if $(SIM_BUILD),sam-venv) ## run the recursive chain locally: make simulate INPUT=file [TIMEOUT_MS= FAULTS= SEED= PARAMS= BUILD=1]
	@if [ -z "$(INPUT)" ]; then echo "ERROR: say which file to process: make simulate INPUT=<file>" >&2; exit 2; fi
	PARAMS=$(SQ_PARAMS) $(PY) -m devtools.simulate --input "$(INPUT)" $(if $(strip $(TIMEOUT_MS)),--timeout-ms "$(TIMEOUT_MS)") \
	  $(if $(strip $(FAULTS)),--faults "$(FAULTS)") $(if $(strip $(SEED)),--seed "$(SEED)") \
	  --output "$(OUTPUT)" --summary "$(SUMMARY)" --log "$(SIM_LOG)" \
	  $(if $(filter 1 yes true,$(VERBOSE)),--verbose) \
	  $(if $(SIM_BUILD),--build --sam "$(SAM)") $(SIM_ARGS)
