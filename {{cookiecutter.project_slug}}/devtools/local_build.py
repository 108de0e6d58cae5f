"""`sam build` of the function for this machine, for `make simulate BUILD=1`; and the Python of
the function's runtime, which every sam build needs (`python -m devtools.local_build
runtime-python` prints it for `make deploy`, or says how to install it).

The build is `make deploy`'s (same template, the build settings of the same samconfig.toml
environment, SAM_CONFIG_ENV, same requirements and runtime), with one change: the architecture is
this machine's, so the sandboxes can load any native code in the package. The template copy goes
to .aws-sam/simulate/ with CodeUri made absolute; template.yaml itself is never touched.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from . import project
from .runtime import MissingRuntimeError, check_python, find_python

OUT = project.ROOT / ".aws-sam" / "simulate"


class BuildError(RuntimeError):
    """sam build failed; the message carries its output."""


def machine_architecture() -> str:
    return "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"


def _template_for_this_machine(out: Path) -> tuple[Path, str]:
    """The template with the function built for this machine; returns it and the function's id."""
    template: dict[str, Any] = cfn_yaml.load(str(project.ROOT / "template.yaml"))
    resources = template.get("Resources") or {}
    (logical_id,) = [k for k, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"]
    props = resources[logical_id]["Properties"]
    props["CodeUri"] = str((project.ROOT / str(props.get("CodeUri", "."))).resolve())
    props["Architectures"] = [machine_architecture()]
    path = out / "template.json"
    path.write_text(json.dumps(template, indent=1), encoding="utf-8")
    return path, logical_id


def build(sam: str, runtime_python: str, config_env: str = "default") -> Path:
    """Run sam build (runtime_python's folder first on PATH, as sam build needs pythonX.Y);
    returns the function's build folder (what would be zipped and deployed)."""
    OUT.mkdir(parents=True, exist_ok=True)
    template, logical_id = _template_for_this_machine(OUT)
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": os.pathsep.join([os.path.dirname(runtime_python), os.environ.get("PATH", "")]),
    }
    command = [sam, "build", "--template", str(template), "--build-dir", str(OUT / "build")]
    config = ["--config-file", str(project.ROOT / "samconfig.toml"), "--config-env", config_env]
    try:
        done = subprocess.run(
            [*command, *config], cwd=project.ROOT, env=env, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise BuildError(f"cannot run the SAM CLI ({sam}): {exc}; `make sam-venv` installs it") from None
    if done.returncode != 0:
        raise BuildError(f"sam build failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return OUT / "build" / logical_id


def runtime_python() -> str:
    """The interpreter of the function's runtime (MissingRuntimeError says how to get it)."""
    python = find_python(project.FUNCTION.runtime) or ""
    check_python(python, project.FUNCTION.runtime)
    return python


def main(argv: list[str]) -> int:
    if argv != ["runtime-python"]:
        print("usage: python -m devtools.local_build runtime-python", file=sys.stderr)
        return 2
    try:
        print(runtime_python())
    except MissingRuntimeError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
