"""Finding the runtime's Python and laying out the BUILD=1 sandbox's runtime folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.runtime import RUNTIME_SDK, LambdaRuntime, MissingRuntimeError, check_python, find_python

THIS = f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_finds_this_machines_python_for_its_runtime() -> None:
    found = find_python(THIS)
    assert found is not None
    assert check_python(found, THIS) == THIS.removeprefix("python")


@pytest.mark.parametrize("python", ["", "/no/such/python3.13", sys.executable])
def test_a_missing_or_other_python_says_how_to_get_the_runtime(python: str) -> None:
    runtime = "python3.10" if THIS != "python3.10" else "python3.9"
    with pytest.raises(MissingRuntimeError) as info:
        check_python(python, runtime)
    version = runtime.removeprefix("python")
    assert f"install Python {version}" in str(info.value)
    assert f"uv python install {version}" in str(info.value)


def test_the_sandbox_sees_the_code_and_the_sdk_only(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "probe.py").write_text("import sys\n", encoding="utf-8")
    runtime = LambdaRuntime.prepare(sys.executable, THIS)
    try:
        script = (
            "import importlib.util, sys\n"
            f"for name in {list(RUNTIME_SDK)!r} + ['probe']:\n"
            "    assert importlib.util.find_spec(name), name\n"
            "for name in ['moto', 'pytest', 'devtools', 'aws_lambda_powertools']:\n"
            "    assert importlib.util.find_spec(name) is None, name\n"
            "print('ok')\n"
        )
        done = subprocess.run(
            [runtime.command()[0], "-S", "-c", script],
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(runtime.path(str(code)))},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stdout.strip() == "ok", done.stderr
        assert runtime.command()[1:] == ["-S", os.path.join(runtime.root, "bootstrap.py")]
    finally:
        runtime.close()
    assert not Path(runtime.root).exists()
