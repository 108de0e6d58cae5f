"""Checks of baked projects that need the generated project's own dependencies; run it with a
baked project's .venv/bin/python: `python bake_check.py <project dir>...`. Prints a JSON object
{project dir: [problem, ...]} (an empty list: all well).

For each project: its template.yaml passes cfn-lint and translates with the SAM translator, and
its deployed handler imports with the environment template.yaml gives the function (so the
cold-start configuration check runs on the baked prefixes and limits too).
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


def resolve(value: Any, parameters: dict[str, Any]) -> str:
    """An environment value of template.yaml: a string, a Ref to a parameter, or a Sub of them."""
    if isinstance(value, dict) and "Ref" in value:
        return str(parameters[value["Ref"]]["Default"])
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = str(value["Fn::Sub"])
        for name, spec in parameters.items():
            text = text.replace("${" + name + "}", str(spec.get("Default", "")))
        return text
    return str(value)


def function_of(sam: dict[str, Any]) -> dict[str, Any]:
    (function,) = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    props: dict[str, Any] = function["Properties"]
    return props


def check_handler_imports(root: Path, sam: dict[str, Any]) -> None:
    props = function_of(sam)
    parameters = sam.get("Parameters", {})
    env = {k: resolve(v, parameters) for k, v in props["Environment"]["Variables"].items()}
    module_name, _, attr = props["Handler"].rpartition(".")
    package = module_name.split(".")[0]
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    sys.path.insert(0, str(root / props["CodeUri"]))
    try:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        import importlib

        handler = importlib.import_module(module_name)
        assert callable(getattr(handler, attr)), f"{props['Handler']} is not callable"
    finally:
        sys.path.remove(str(root / props["CodeUri"]))
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
