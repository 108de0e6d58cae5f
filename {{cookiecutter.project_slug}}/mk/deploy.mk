# Deploying with AWS SAM (included by the Makefile). The SAM CLI pins its own boto3, so it lives in
# its own venv, $(SAM_VENV), created on first use; stack name and region come from samconfig.toml.
#   make deploy           sam build, then sam deploy (asks before applying the change set)
#   make delete           sam delete (the data bucket is retained; empty and delete it yourself)
#   make logs             sam logs --tail for the function
#   make invoke-remote    upload FILE (default: the sample in events/) to the stack's input prefix
#   make validate         sam validate --lint (also part of `make lint` once $(SAM_VENV) exists)

SAM_VERSION ?= 1.170.0
SAM_VENV ?= .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
# Stack parameters for this deploy, on top of template.yaml's defaults and samconfig.toml's
# parameter_overrides: make deploy PARAMS="MaxHops=5000 MemorySize=3008". SAM_CONFIG_ENV picks a
# samconfig.toml environment ([prod.deploy.parameters], ...). Extra flags, e.g.
# make deploy SAM_DEPLOY_ARGS=--no-confirm-changeset (CI).
PARAMS ?=
SAM_CONFIG_ENV ?= default
SAM_BUILD_ARGS ?=
SAM_DEPLOY_ARGS ?=
# PARAMS inside single quotes for the shell (a prefix may hold a quote).
SQ_PARAMS = '$(subst ','\'',$(strip $(PARAMS)))'
export SAM_CLI_TELEMETRY ?= 0

# sam build installs the dependencies with the Python of the function's runtime, which must be on
# PATH as pythonX.Y: devtools.runtime finds it (PATH first, then uv's or pyenv's interpreters) and
# its folder goes first on PATH.
RUNTIME_PYTHON = $$($(PY) -m devtools.local_build runtime-python)

SAMPLE := $(firstword $(wildcard events/sample.*))
FILE ?= $(SAMPLE)

.PHONY: bucket-setup sam-venv build params-check deploy delete logs invoke-remote validate sam-validate-if-present test-integration

$(SAM_STAMP):
	@if [ -n "$(UV)" ]; then \
	  [ -x "$(SAM_VENV)/bin/python" ] || "$(UV)" venv --quiet --python "$(PYTHON)" "$(SAM_VENV)"; \
	  "$(UV)" pip install --quiet --python "$(SAM_VENV)/bin/python" aws-sam-cli==$(SAM_VERSION); \
	else \
	  [ -x "$(SAM_VENV)/bin/python" ] || "$(PYTHON)" -m venv "$(SAM_VENV)"; \
	  "$(SAM_VENV)/bin/python" -m pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION); \
	fi
	@touch "$@"

sam-venv: $(SAM_STAMP) ## create .venv-sam with the pinned AWS SAM CLI

define SAM_BUILD
	python=$(RUNTIME_PYTHON) && PATH="$$(dirname "$$python"):$$PATH" \
	  $(SAM) build --config-env $(SAM_CONFIG_ENV) $(SAM_BUILD_ARGS)
endef

build: $(STAMP) $(SAM_STAMP) ## sam build (.aws-sam/build: the package and its runtime deps only)
	$(SAM_BUILD)

params-check: $(STAMP) ## check stack parameters without deploying: make params-check PARAMS="MaxHops=5000"
	$(PY) -m devtools.params check --config-env $(SAM_CONFIG_ENV) $(SQ_PARAMS)

# The parameters are checked first, so a bad value changes nothing (not even .aws-sam/).
deploy: params-check $(SAM_STAMP) ## check PARAMS, sam build, sam deploy (samconfig.toml: stack, region): make deploy [PARAMS="MaxHops=5000"]
	$(SAM_BUILD)
	$(SAM) deploy --config-env $(SAM_CONFIG_ENV) $(if $(strip $(PARAMS)),--parameter-overrides $$($(PY) -m devtools.params overrides --config-env $(SAM_CONFIG_ENV) $(SQ_PARAMS))) $(SAM_DEPLOY_ARGS)

delete: $(SAM_STAMP) ## delete the stack (the bucket is retained with its data)
	$(SAM) delete

logs: $(SAM_STAMP) ## follow the function's logs
	$(SAM) logs

validate: $(SAM_STAMP) ## sam validate --lint on template.yaml (offline)
	$(SAM) validate --lint

# `make lint` validates the SAM template too when the SAM CLI is already installed (no download).
lint: sam-validate-if-present
sam-validate-if-present:
	@if [ -x "$(SAM)" ]; then echo "$(SAM) validate --lint"; $(SAM) validate --lint; \
	else echo "sam validate skipped: $(SAM) is missing (make sam-venv installs it)"; fi

invoke-remote: $(STAMP) ## upload FILE (default $(SAMPLE)) under the deployed stack's input prefix; prints the run id
	@[ -n "$(FILE)" ] && [ -f "$(FILE)" ] || { echo "ERROR: FILE=$(FILE) is not a file" >&2; exit 1; }
	PYTHONPATH=src $(PY) -c "$$INVOKE_REMOTE_PY" "$(FILE)"

define INVOKE_REMOTE_PY
import os, sys, time, tomllib, boto3
from $(PKG).layout import run_id_for
cfg = tomllib.load(open('samconfig.toml', 'rb'))['default']['global']['parameters']
stack = os.environ.get('STACK_NAME', cfg['stack_name'])
region = os.environ.get('AWS_REGION', cfg['region'])
outputs = {o['OutputKey']: o['OutputValue'] for o in boto3.client('cloudformation', region_name=region).describe_stacks(StackName=stack)['Stacks'][0].get('Outputs', [])}
bucket, prefix = outputs['UploadPrefix'][len('s3://'):].split('/', 1)
path = sys.argv[1]
stem, ext = os.path.splitext(os.path.basename(path))
suffix = outputs.get('InputSuffix') or ext
key = f'{prefix}{stem}-{time.strftime("%Y%m%dT%H%M%S")}{suffix}'
with open(path, 'rb') as body:
    resp = boto3.client('s3', region_name=region).put_object(Bucket=bucket, Key=key, Body=body)
print(f'uploaded s3://{bucket}/{key}')
run_id = run_id_for(bucket, key, resp['ETag'], resp.get('VersionId'))
print(f'run id: {run_id}')
print(f'manifest (when done): s3://{bucket}/{outputs["OutputPrefix"]}{run_id}/manifest.json')
endef
export INVOKE_REMOTE_PY

bucket-setup: $(STAMP) ## for an existing bucket: EventBridge on, state expiry rule (keeps its other settings): make bucket-setup BUCKET=<name> [DRY_RUN=1]
	@[ -n "$(BUCKET)" ] || { echo "ERROR: give the bucket: make bucket-setup BUCKET=<name>" >&2; exit 1; }
	$(PY) -m devtools.existing_bucket "$(BUCKET)" $(if $(DRY_RUN),--dry-run)

test-integration: $(STAMP) ## against the deployed stack: STACK_NAME=<stack> make test-integration (needs AWS credentials)
	STACK_NAME="$${STACK_NAME:-$(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' samconfig.toml | head -n 1)}" \
	  $(PY) -m pytest -m integration tests/integration $(PYTEST_ARGS)
