"""Checks of baked projects that need the generated project's own dependencies; run it with a
baked project's .venv/bin/python: `python bake_check.py <project dir>...`. Prints a JSON object
{project dir: [problem, ...]} (an empty list: all well).

For each project: its template.yaml passes cfn-lint and translates with the SAM translator, its
parameters' defaults meet the template's own bounds, and its deployed handler imports with the
environment template.yaml gives the function (so the cold-start configuration check runs on the
baked prefixes and limits too).
"""

from __future__ import annotations

import copy
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REGION = "us-east-1"


def function_of(sam: dict[str, Any]) -> dict[str, Any]:
    (function,) = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    props: dict[str, Any] = function["Properties"]
    return props


def _fresh_import(root: Path, module_name: str) -> Any:
    """Import `module_name` from `root`, forgetting any module of that name from another project."""
    import importlib

    top = module_name.split(".")[0]
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(str(root))


def function_env(root: Path, sam: dict[str, Any]) -> dict[str, str]:
    """The function's environment as the project's own devtools resolve template.yaml (parameters'
    defaults checked against the template's bounds on the way); a bucket left to deploy time gets one."""
    stack_template = _fresh_import(root, "devtools.stack_template")
    needs_bucket = "Default" not in sam.get("Parameters", {}).get("ExistingBucketName", {"Default": ""})
    stack = stack_template.load(root, "ExistingBucketName=my-data" if needs_bucket else "")
    return dict(stack.function.env)


def check_handler_imports(root: Path, sam: dict[str, Any]) -> None:
    props = function_of(sam)
    env = function_env(root, sam)
    module_name, _, attr = props["Handler"].rpartition(".")
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    try:
        handler = _fresh_import(root / props["CodeUri"], module_name)
        assert callable(getattr(handler, attr)), f"{props['Handler']} is not callable"
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def check_translates(sam: dict[str, Any]) -> None:
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(sam)
    function_of(sam)["CodeUri"] = "s3://artifacts/code.zip"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    transform(sam, {"AWS::Region": REGION, "AWS::Partition": "aws"}, _NoManagedPolicies())


def check_cfn_lint(text: str) -> None:
    from cfnlint.api import ManualArgs, lint

    found = lint(text, config=ManualArgs(regions=[REGION]))
    problems = [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in found]
    assert not problems, "cfn-lint: " + "; ".join(problems)


def check(root: Path) -> list[str]:
    from samtranslator.yaml_helper import yaml_parse

    problems: list[str] = []
    text = (root / "template.yaml").read_text(encoding="utf-8")
    sam: dict[str, Any] = yaml_parse(text)
    steps: list[Callable[[], None]] = [
        lambda: check_cfn_lint(text),
        lambda: check_translates(sam),
        lambda: check_handler_imports(root, sam),
    ]
    for step in steps:
        try:
            step()
        except Exception as exc:
            problems.append("".join(traceback.format_exception_only(exc)).strip()[-2000:])
    return problems


if __name__ == "__main__":
    print(json.dumps({arg: check(Path(arg)) for arg in sys.argv[1:]}))
