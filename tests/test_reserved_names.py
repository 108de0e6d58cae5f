"""The names a package may not take come from the real dependency closure of the generated
project: every top-level module its pinned requirements install (in every mode), read off the
baked projects' .venv. `python -m tests.test_reserved_names --write <venv python>...` rewrites the
hook's list after a dependency change."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import MODES, TEMPLATE
from .project_runs import ProjectRun

HOOK = TEMPLATE / "hooks" / "pre_gen_project.py"
SCRIPT = Path(__file__).with_name("installed_modules.py")
BLOCK = re.compile(r"(    # BEGIN DEPENDENCY_MODULES[^\n]*\n)(.*?)(    # END DEPENDENCY_MODULES)", re.DOTALL)


def installed_modules(python: Path) -> set[str]:
    out = subprocess.run([str(python), str(SCRIPT)], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def write_hook_list(names: set[str]) -> None:
    body = "".join(f"        {json.dumps(name)},\n" for name in sorted(names))
    text = HOOK.read_text(encoding="utf-8")
    HOOK.write_text(BLOCK.sub(lambda m: m.group(1) + "    {\n" + body + "    }\n" + m.group(3), text), encoding="utf-8")


@pytest.mark.slow
def test_reserved_names_are_the_dependency_closure(make_runs: dict[str, ProjectRun], pre_hook: ModuleType) -> None:
    found: set[str] = set()
    for mode in MODES:
        code, output = make_runs[mode].wait("install")
        assert code == 0, output[-3000:]
        found |= installed_modules(make_runs[mode].root / ".venv" / "bin" / "python")
    listed = set(pre_hook.DEPENDENCY_MODULES)
    assert {"aws_lambda_powertools", "boto3", "typing_extensions", "moto"} <= found
    assert (sorted(found - listed), sorted(listed - found)) == ([], []), (
        "hooks/pre_gen_project.py's DEPENDENCY_MODULES is out of step with the pinned requirements "
        "(missing, stale); rewrite it: python -m tests.test_reserved_names --write <baked .venv/bin/python>"
    )


@pytest.mark.parametrize("module", ["typing_extensions", "aws_lambda_powertools", "jmespath", "werkzeug"])
def test_dependency_names_refused(pre_hook: ModuleType, module: str) -> None:
    slug = module.replace("_", "-")
    with pytest.raises(pre_hook.AnswerError, match="shadow"):
        pre_hook.check_package_name(slug.replace("-", "_"))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"] or len(sys.argv) < 3:
        raise SystemExit("usage: python -m tests.test_reserved_names --write <venv python>...")
    write_hook_list(set().union(*(installed_modules(Path(p)) for p in sys.argv[2:])))
