"""devtools.stack_template and `make deploy PARAMS=`: template.yaml resolved like `sam deploy`, and
every override checked (the template's bounds, then the function's own configuration check) before
anything is deployed."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools import params, project, stack_template

PROJECT = Path(__file__).resolve().parents[2]


def test_defaults_resolve_to_the_function_the_template_declares() -> None:
    stack = stack_template.load(PROJECT, complete=False)
    fn = stack.function
    assert fn.handler.endswith(".handler.lambda_handler")
    assert fn.name == f"{stack.name}-processor"
    assert fn.env["MAX_HOPS"] == stack.parameters["MaxHops"]
    assert fn.memory_mb == int(stack.parameters["MemorySize"])
    assert (fn.trigger.prefix, fn.trigger.suffix) == (stack.parameters["InputPrefix"], stack.parameters["InputSuffix"])
    assert fn.env["INPUT_SUFFIX"] == stack.parameters["InputSuffix"]
    assert fn.recursive_loop == "Allow"
    assert fn.alias == "live"


_SUFFIX_PIECES = st.sampled_from([".csv", ".jsonl", ".gz", "gz", ".", "z", "g", "-", "(1)", "/", "Ab9!_'"])


@settings(max_examples=60, deadline=None)
@given(prefix=st.sampled_from(["", "in/", "a/b(1)/"]), suffix=st.lists(_SUFFIX_PIECES, max_size=4).map("".join))
def test_the_trigger_fires_for_the_suffixes_the_loop_rule_checks(prefix: str, suffix: str) -> None:
    """template.yaml's conditions (which tell whether InputSuffix ends in ".gz") and config.py's
    trigger_suffixes must agree, or the loop rule would check other keys than the trigger fires for."""
    config = importlib.import_module(f"{project.PACKAGE}.config")
    trigger = stack_template.load(
        PROJECT, [f"InputPrefix={prefix}", f"InputSuffix={suffix}"], complete=False
    ).function.trigger
    assert trigger.prefix == prefix
    assert sorted(trigger.suffixes) == sorted(config.trigger_suffixes(suffix))
    assert trigger.matches(f"{prefix}x{suffix}")
    assert trigger.matches(f"{prefix}x{suffix}.gz") or suffix.endswith(".gz")
    assert not trigger.matches(f"{prefix}x{suffix}.gz.tmp") or not suffix


def test_a_runtime_that_is_not_python_is_refused(tmp_path: Path) -> None:
    for name in ("template.yaml", "samconfig.toml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    template = (tmp_path / "template.yaml").read_text(encoding="utf-8")
    runtime = stack_template.load(PROJECT, complete=False).function.runtime
    (tmp_path / "template.yaml").write_text(template.replace(f"Runtime: {runtime}", "Runtime: nodejs22.x"))
    with pytest.raises(stack_template.TemplateError, match=r"'nodejs22\.x': this function runs on a Python 3 runtime"):
        stack_template.load(tmp_path, complete=False)


def test_overrides_reach_the_function() -> None:
    stack = stack_template.load(
        PROJECT, "MaxHops=5000 MemorySize=3008 ReservedConcurrency=0 InputPrefix=x/", complete=False
    )
    fn = stack.function
    assert (fn.env["MAX_HOPS"], fn.memory_mb, fn.reserved_concurrency) == ("5000", 3008, None)
    assert fn.env["INPUT_PREFIX"] == fn.trigger.prefix == "x/"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("MaxHops=0", "MaxHops=0 must be between 1"),
        ("MemorySize=lots", "must be a number"),
        ("Timeout=901", "must be between 1 and 900"),
        ("OnObjectChange=ignore", "must be one of: fail, restart"),
        ("InputPrefix=in*/", "does not match"),
        ("OutputPrefix=out", "does not match"),
        ("StatePrefix=/abs/", "does not match"),
        ("NoSuchThing=1", "has no parameter 'NoSuchThing'"),
        ("MaxHops", "is not Name=value"),
        ("Parallelism=0", "Parallelism=0 must be between 1 and 1000"),
    ],
)
def test_bad_overrides_are_refused_with_what_to_fix(overrides: str, message: str) -> None:
    with pytest.raises(stack_template.TemplateError, match=message.replace("*", r"\*")):
        stack_template.load(PROJECT, overrides, complete=False)


def _deployable(extra: str = "") -> str:
    template = (PROJECT / "template.yaml").read_text(encoding="utf-8")
    needs_bucket = "ExistingBucketName:" in template and "Default:" not in template.split("ExistingBucketName:")[1][:80]
    return f"{extra} ExistingBucketName=my-data".strip() if needs_bucket else extra


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("InputPrefix=processed/ InputSuffix= OutputPrefix=processed/", "lies inside the input filter"),
        ("InputPrefix= InputSuffix=.jsonl", "lies inside the input filter"),
        ("OutputPrefix=data/ StatePrefix=data/state/", "overlap"),
        ("Parallelism=8 ReservedConcurrency=4", "Parallelism=8 is more than ReservedConcurrency=4"),
        ("MaxRunHours=48 StateRetentionDays=2", "MaxRunHours=48 is not less than StateRetentionDays=2"),
        ("MaxRunHours=8760 StateRetentionDays=14", "MaxRunHours=8760 is not less than StateRetentionDays=14"),
        ("MaxRunHours=48 StateRetentionDays=2.0", "MaxRunHours=48 is not less than StateRetentionDays=2.0"),
    ],
)
def test_the_loop_rule_holds_for_overrides(overrides: str, message: str) -> None:
    """CloudFormation's bounds cannot see a loop through S3, or state that would expire before a run
    ends: the checks make deploy runs first do."""
    with pytest.raises(stack_template.TemplateError, match=message):
        params.check(_deployable(overrides))


def test_a_deploy_needs_every_parameter() -> None:
    params.check(_deployable())
    params.check(_deployable("MaxRunHours=47 StateRetentionDays=2"))  # state outlives the run budget
    text = (PROJECT / "template.yaml").read_text(encoding="utf-8")
    if "ExistingBucketName:" in text and _deployable() != "":
        with pytest.raises(stack_template.TemplateError, match="ExistingBucketName has no default"):
            params.check("")


def test_resolver_evaluates_conditions_and_subs() -> None:
    template = {
        "Conditions": {
            "On": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]},
            "Both": {"Fn::And": [{"Condition": "On"}, {"Fn::Equals": ["a", "a"]}]},
        }
    }
    r = stack_template.Resolver(template, {"P": "x"}, "stk", "eu-west-1")
    assert (
        r.value({"Fn::If": ["Both", {"Fn::Sub": "${P}-${AWS::StackName}-${AWS::Region}"}, "no"]}) == "x-stk-eu-west-1"
    )
    assert r.value([{"Fn::If": ["On", {"Ref": "AWS::NoValue"}, 1]}, 2]) == [2]
    assert r.value({"Fn::Sub": ["${A}/${P}", {"A": "a"}]}) == "a/x"
    with pytest.raises(stack_template.TemplateError, match="cannot resolve"):
        r.value({"Fn::GetAtt": ["Role", "Arn"]})


def test_samconfig_overrides_are_a_layer_under_params(tmp_path: Path) -> None:
    """`sam deploy --parameter-overrides` replaces samconfig's list; `make deploy` merges the two."""
    for name in ("template.yaml", "samconfig.toml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    with (tmp_path / "samconfig.toml").open("a", encoding="utf-8") as f:
        f.write('\n[prod.deploy.parameters]\nparameter_overrides = "MaxHops=7 MemorySize=2048"\n')
    stack = stack_template.load(tmp_path, "MemorySize=4096", "prod", complete=False)
    assert (stack.parameters["MaxHops"], stack.parameters["MemorySize"]) == ("7", "4096")
    assert stack_template.load(tmp_path, complete=False).parameters["MaxHops"] != "7"


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=PROJECT, capture_output=True, text=True, check=False, timeout=120
    )


def test_make_deploy_passes_params_to_sam_deploy() -> None:
    dry = _make("-n", "deploy", "PARAMS=MaxHops=5000")
    assert dry.returncode == 0, dry.stderr
    deploy_line = next(line for line in dry.stdout.splitlines() if " deploy " in line and "sam" in line)
    assert "--parameter-overrides" in deploy_line
    assert "MaxHops=5000" in deploy_line
    check_line = next(line for line in dry.stdout.splitlines() if "devtools.params check" in line)
    assert dry.stdout.index(check_line) < dry.stdout.index(deploy_line), "the check must come first"


def test_make_deploy_refuses_a_bad_override_before_anything_changes(tmp_path: Path) -> None:
    """Fails at the check: no sam build (.aws-sam untouched), no sam deploy."""
    before = (PROJECT / ".aws-sam").exists()
    result = _make("deploy", "PARAMS=MaxHops=0", "SAM=false")  # SAM=false: nothing may reach it
    assert result.returncode != 0
    assert "ERROR: MaxHops=0 must be between 1" in result.stderr
    assert "sam build" not in result.stdout
    assert (PROJECT / ".aws-sam").exists() == before


def test_params_cli_merges_samconfig_and_params() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "devtools.params", "overrides", "MaxHops=9 InputPrefix=it's/"],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["MaxHops=9", "InputPrefix=it's/"]


def test_parallelism_needs_merge_in_process_py(monkeypatch: pytest.MonkeyPatch) -> None:
    """make deploy refuses Parallelism > 1 before deploying when process.py has no merge()."""
    process = importlib.import_module(f"{project.PACKAGE}.process")
    params.check(_deployable("Parallelism=2 ReservedConcurrency=0"))  # the worked example has one
    monkeypatch.delattr(process, "merge")
    with pytest.raises(stack_template.TemplateError, match=r"Parallelism=2 needs merge\(left, right\) in process.py"):
        params.check(_deployable("Parallelism=2 ReservedConcurrency=0"))
    params.check(_deployable("Parallelism=1"))
