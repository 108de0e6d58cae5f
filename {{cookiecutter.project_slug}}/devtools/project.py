"""This project as the emulator sees it: what `make deploy` would deploy, read from template.yaml.

Only the code's shape is fixed at bake time (the package and its processing mode). Every setting of
the function (handler, memory, environment, retries, trigger filter, ...) comes from template.yaml
with its parameters resolved like `sam deploy` resolves them: the template's defaults, then
samconfig.toml's `parameter_overrides`, then PARAMS from the environment (`make simulate
PARAMS="MaxHops=5000"` passes it), so a simulated run uses exactly the configuration that deploys.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import stack_template

PACKAGE = {{cookiecutter.__package_name | tojson}}
MODE = {{cookiecutter.processing_mode | tojson}}
ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = os.environ.get("SAM_CONFIG_ENV", "default")  # the samconfig.toml environment, as for make deploy

try:
    STACK = stack_template.load(ROOT, os.environ.get("PARAMS", ""), CONFIG_ENV, complete=False)
except stack_template.TemplateError as exc:
    raise SystemExit(f"ERROR: {exc}") from None
FUNCTION = STACK.function
PARAMETERS = STACK.parameters
REGION = STACK.region
FUNCTION_NAME = FUNCTION.name
HANDLER = FUNCTION.handler
MEMORY_MB = FUNCTION.memory_mb
ASYNC_RETRIES = FUNCTION.async_retries
INPUT_PREFIX = FUNCTION.trigger.prefix
INPUT_SUFFIX = FUNCTION.trigger.suffix
OUTPUT_PREFIX = FUNCTION.env["OUTPUT_PREFIX"]
STATE_PREFIX = FUNCTION.env["STATE_PREFIX"]
STATE_RETENTION_DAYS = int(PARAMETERS["StateRetentionDays"])
ACCOUNT_ID = stack_template.ACCOUNT_ID


def function_env() -> dict[str, str]:
    """The function's environment variables, as template.yaml sets them in AWS."""
    return {"POWERTOOLS_LOG_LEVEL": "INFO", **FUNCTION.env}
