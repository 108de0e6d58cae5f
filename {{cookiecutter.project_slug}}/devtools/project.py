"""What this generated project looks like to the emulator: values fixed when it was baked.

They mirror the function's configuration in template.yaml so `make simulate` runs the handler with
the same prefixes and guards it gets in AWS.
"""

from __future__ import annotations

import json

_BAKED = json.loads(
    r"""
{
  "package": {{ cookiecutter.__package_name | tojson }},
  "mode": {{ cookiecutter.processing_mode | tojson }},
  "function_name": {{ cookiecutter.project_slug | tojson }},
  "region": {{ cookiecutter.aws_region | tojson }},
  "memory_mb": {{ cookiecutter.memory_mb | int }},
  "ephemeral_storage_mb": {{ cookiecutter.ephemeral_storage_mb | int }},
  "max_hops": {{ cookiecutter.max_hops | int }},
  "max_run_hours": {{ cookiecutter.max_run_hours | int }},
  "async_retries": {{ cookiecutter.async_retries | int }},
  "input_prefix": {{ cookiecutter.input_prefix | tojson }},
  "input_suffix": {{ cookiecutter.input_suffix | tojson }},
  "output_prefix": {{ cookiecutter.output_prefix | tojson }},
  "state_prefix": {{ cookiecutter.state_prefix | tojson }},
  "on_object_change": {{ cookiecutter.on_object_change | tojson }},
  "state_retention_days": {{ cookiecutter.state_retention_days | int }}
}
"""
)

PACKAGE: str = _BAKED["package"]
MODE: str = _BAKED["mode"]
FUNCTION_NAME: str = _BAKED["function_name"]
REGION: str = _BAKED["region"]
MEMORY_MB: int = int(_BAKED["memory_mb"])
ASYNC_RETRIES: int = int(_BAKED["async_retries"])
INPUT_PREFIX: str = _BAKED["input_prefix"]
INPUT_SUFFIX: str = _BAKED["input_suffix"]
OUTPUT_PREFIX: str = _BAKED["output_prefix"]
STATE_PREFIX: str = _BAKED["state_prefix"]
STATE_RETENTION_DAYS: int = int(_BAKED["state_retention_days"])
HANDLER = f"{PACKAGE}.handler.lambda_handler"
ACCOUNT_ID = "123456789012"


def function_env() -> dict[str, str]:
    """The function's environment variables, as template.yaml sets them in AWS."""
    return {
        "INPUT_PREFIX": INPUT_PREFIX,
        "INPUT_SUFFIX": INPUT_SUFFIX,
        "OUTPUT_PREFIX": OUTPUT_PREFIX,
        "STATE_PREFIX": STATE_PREFIX,
        "MAX_HOPS": str(_BAKED["max_hops"]),
        "MAX_RUN_SECONDS": str(int(_BAKED["max_run_hours"]) * 3600),
        "ON_OBJECT_CHANGE": _BAKED["on_object_change"],
        "EPHEMERAL_STORAGE_MB": str(_BAKED["ephemeral_storage_mb"]),
        "POWERTOOLS_SERVICE_NAME": FUNCTION_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": "RecursiveS3",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
