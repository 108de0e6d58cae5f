"""A sandbox that can import only what Lambda's Python runtime gives a function: its deployment
package (a `sam build` output) and the AWS SDK every Python runtime bundles, run by the runtime's
Python version. Nothing from this project's virtualenv (moto, pytest, devtools, dev pins) is there.

`make simulate BUILD=1` runs the chain this way, so a dependency missing from the function's
requirements.txt, a wrong handler path or an import of a dev-only module fails on this machine
instead of after a deploy. Without it the sandboxes run in the project's virtualenv (quicker to
iterate on src/).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

# What every Lambda Python runtime bundles: boto3 and the packages it needs.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class MissingRuntimeError(ValueError):
    """The runtime's Python is missing or is another version."""


def _probe(python: str) -> tuple[str, str]:
    """(the interpreter's real path, 'X.Y'), or ('', '') when it does not run (a pyenv shim of a
    version that is not selected, say)."""
    try:
        probe = subprocess.run(
            [python, "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return "", ""
    lines = probe.stdout.split()
    return (lines[0], lines[1]) if probe.returncode == 0 and len(lines) == 2 else ("", "")


def check_python(python: str, runtime: str) -> str:
    """The version of `runtime` (python3.13 -> '3.13') once `python` is shown to be it."""
    wanted = runtime.removeprefix("python")
    found = _probe(python)[1] if python else ""
    if found != wanted:
        what = f"{python} is Python {found or '(not runnable)'}" if python else f"no {runtime} was found"
        raise MissingRuntimeError(
            f"the function's runtime is {runtime} and {what}: install Python {wanted} "
            f"(e.g. `uv python install {wanted}` or pyenv) so that {runtime} is on PATH"
        )
    return wanted


def find_python(runtime: str) -> str | None:
    """A working interpreter of the function's runtime (python3.13), as sam build and BUILD=1
    sandboxes need: on PATH, else uv's, else pyenv's."""
    version = runtime.removeprefix("python")
    candidates = [shutil.which(runtime)]
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run([uv, "python", "find", "--no-project", version], capture_output=True, text=True)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/{runtime}")))
    for exe in filter(None, candidates):
        real, found_version = _probe(exe)
        if found_version == version:
            return real
    return None


@dataclass(frozen=True)
class LambdaRuntime:
    """The runtime's Python and a folder laid out like Lambda's /var/runtime: the sandbox's
    bootstrap (devtools/worker.py, which imports nothing but the standard library) and sdk/."""

    python: str
    version: str
    root: str

    @classmethod
    def prepare(cls, python: str, runtime: str) -> LambdaRuntime:
        """`runtime` is the function's (python3.13): `python` must be that version."""
        version = check_python(python, runtime)
        root = tempfile.mkdtemp(prefix="lambda-runtime-")
        shutil.copyfile(_WORKER, os.path.join(root, "bootstrap.py"))
        sdk = os.path.join(root, "sdk")
        os.mkdir(sdk)
        for name in RUNTIME_SDK:
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.origin, f"{name} is not installed in this virtualenv"
            found_at = os.path.dirname(spec.origin) if spec.submodule_search_locations else spec.origin
            os.symlink(found_at, os.path.join(sdk, os.path.basename(found_at)))
        return cls(python, version, root)

    def command(self) -> list[str]:
        """No site-packages (-S): sys.path is the bootstrap's folder, PYTHONPATH and the stdlib."""
        return [self.python, "-S", os.path.join(self.root, "bootstrap.py")]

    def path(self, code: str) -> list[str]:
        """PYTHONPATH: the function's code first, then the SDK (Lambda's order: a bundled boto3 wins)."""
        return [code, os.path.join(self.root, "sdk")]

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
