"""Every validation rule of hooks/pre_gen_project.py, called directly (no bake needed)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.environment import StrictEnvironment
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import TEMPLATE

DEFAULTS: dict[str, Any] = {
    "project_name": "S3 Record Processor",
    "project_slug": "s3-record-processor",
    "description": "Processes huge S3 objects.",
    "author_name": "Your Name",
    "author_email": "you@example.com",
    "processing_mode": "csv",
    "lambda_runtime": "python3.13",
    "lambda_architecture": "arm64",
    "aws_region": "us-east-1",
    "__memory_mb": "1024",
    "__timeout_seconds": "900",
    "__ephemeral_storage_mb": "2048",
    "__max_hops": "1000",
    "__max_run_hours": "48",
    "__reserved_concurrency": "10",
    "__async_retries": "2",
    "__input_prefix": "incoming/",
    "__input_suffix": ".csv",
    "__output_prefix": "processed/",
    "__state_prefix": "_state/",
    "__on_object_change": "fail",
    "__state_retention_days": "14",
    "create_bucket": True,
    "__existing_bucket_name": "",
    "__stack_name": "s3-record-processor",
    "__package_name": "s3_record_processor",
    "_template": "/somewhere",
}


def errors_for(hook: ModuleType, **changes: Any) -> list[str]:
    return list(hook.validate({**DEFAULTS, **changes}))


def assert_refused(hook: ModuleType, fragment: str, **changes: Any) -> None:
    errors = errors_for(hook, **changes)
    assert errors, f"{changes} was accepted"
    assert any(fragment in e for e in errors), errors


def test_defaults_pass(pre_hook: ModuleType) -> None:
    assert errors_for(pre_hook) == []


def test_cookiecutter_json_defaults_agree_with_hook(pre_hook: ModuleType) -> None:
    """The literal defaults in cookiecutter.json pass the hook (derived ones are tested by baking)."""
    raw = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    answers = {k: v for k, v in raw.items() if not k.startswith("_") or (k.startswith("__") and k != "__prompts__")}
    literal = {k: (v[0] if isinstance(v, list) else v) for k, v in answers.items()}
    literal = {k: v for k, v in literal.items() if not (isinstance(v, str) and "{{" in v)}
    assert set(literal) <= set(DEFAULTS)
    assert errors_for(pre_hook, **{k: (v if isinstance(v, bool) else str(v)) for k, v in literal.items()}) == []


@pytest.mark.parametrize("slug", ["Bad Slug!", "1abc", "-abc", "abc-", "ABC", "a_b", "a.b", "", "a" * 64, "ünï"])
def test_slug_refused(pre_hook: ModuleType, slug: str) -> None:
    assert_refused(pre_hook, "project_slug", project_slug=slug)


@pytest.mark.parametrize("slug", ["a", "my-processor-2", "a" * 63])
def test_slug_accepted(pre_hook: ModuleType, slug: str) -> None:
    errors = errors_for(pre_hook, project_slug=slug, __stack_name=slug[:40], __package_name=slug.replace("-", "_"))
    assert errors == []


@pytest.mark.parametrize("name", ["1stack", "my_stack", "a" * 129, "stack!", "a" * 55, "Upper-Stack", "a" * 41])
def test_stack_name_refused(pre_hook: ModuleType, name: str) -> None:
    assert_refused(pre_hook, "__stack_name", __stack_name=name)


@pytest.mark.parametrize(
    ("package", "why"),
    [
        ("csv", "shadow"),
        ("json", "shadow"),
        ("boto3", "shadow"),
        ("test", "shadow"),
        ("tests", "shadow"),
        ("devtools", "shadow"),
        ("class", "keyword"),
        ("match", "keyword"),
        ("my-pkg", "identifier"),
        ("9lives", "identifier"),
    ],
)
def test_package_name_refused(pre_hook: ModuleType, package: str, why: str) -> None:
    assert_refused(pre_hook, why, __package_name=package)


def test_slug_that_shadows_stdlib_refused_through_package_name(pre_hook: ModuleType) -> None:
    assert_refused(pre_hook, "shadow", project_slug="csv", __stack_name="csv", __package_name="csv")


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-north-1", "me-south-1"]
)
def test_region_accepted(pre_hook: ModuleType, region: str) -> None:
    assert errors_for(pre_hook, aws_region=region) == []


@pytest.mark.parametrize("region", ["us-east", "US-EAST-1", "useast1", "us-east-1a", "mars-north-1", ""])
def test_region_refused(pre_hook: ModuleType, region: str) -> None:
    assert_refused(pre_hook, "aws_region", aws_region=region)


@pytest.mark.parametrize(
    ("key", "bad", "good"),
    [
        ("__memory_mb", ["127", "10241", "1k", True], ["128", "10240", 2048]),
        ("__timeout_seconds", ["0", "901", "1.5"], ["1", "900"]),
        ("__ephemeral_storage_mb", ["511", "10241"], ["512", "10240"]),
        ("__max_hops", ["0", "-1", "many"], ["1", "100000"]),
        ("__reserved_concurrency", ["-1", "x"], ["0", "1"]),
        ("__async_retries", ["-1", "3"], ["0", "2"]),
        ("__state_retention_days", ["0", "-3", "2"], ["3", "365"]),  # 2 days: not more than 48 run hours
        ("__max_run_hours", ["0", "-1", "soon", "0.5", "inf", False], ["1", "48", 1]),
    ],
)
def test_number_ranges(pre_hook: ModuleType, key: str, bad: list[Any], good: list[Any]) -> None:
    for value in bad:
        assert_refused(pre_hook, key, **{key: value})
    for value in good:
        assert errors_for(pre_hook, **{key: value}) == [], value


@pytest.mark.parametrize(("hours", "days"), [(24, 1), (48, 2), (8760, 365), (1, 1), (71, 3), (72, 3)])
def test_state_must_outlive_the_run_budget(pre_hook: ModuleType, hours: int, days: int) -> None:
    """The lifecycle rule expires state by age; a run needs its first checkpoints until it ends."""
    errors = errors_for(pre_hook, __max_run_hours=str(hours), __state_retention_days=str(days))
    if hours < 24 * days:
        assert errors == []
    else:
        assert len(errors) == 1, errors
        assert "raise __state_retention_days or lower __max_run_hours" in errors[0]


@pytest.mark.parametrize("value", ["false", "true", "yes", 0, 1, None])
def test_booleans_must_be_booleans(pre_hook: ModuleType, value: Any) -> None:
    assert_refused(pre_hook, "create_bucket", create_bucket=value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("processing_mode", "xml"),
        ("lambda_runtime", "python3.9"),
        ("lambda_architecture", "riscv"),
        ("__on_object_change", "ignore"),
    ],
)
def test_choices(pre_hook: ModuleType, key: str, value: str) -> None:
    assert_refused(pre_hook, key, **{key: value})


@pytest.mark.parametrize("email", ["nobody", "a@b", "two@@example.com", "sp ace@example.com", ""])
def test_email_refused(pre_hook: ModuleType, email: str) -> None:
    assert_refused(pre_hook, "author_email", author_email=email)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("__input_prefix", "/incoming/", "start with '/'"),
        ("__input_prefix", "incoming", "end with '/'"),
        ("__input_prefix", "in//coming/", "'//'"),
        ("__input_prefix", "in\ncoming/", "control characters"),
        ("__input_prefix", "\udcff/", "UTF-8"),
        ("__input_prefix", "é" * 300 + "/", "bytes"),
        ("__output_prefix", "", "must not be empty"),
        ("__state_prefix", "", "must not be empty"),
        ("__output_prefix", "processed", "end with '/'"),
        ("__state_prefix", "/state/", "start with '/'"),
        ("__input_suffix", "\x00", "control characters"),
    ],
)
def test_prefix_syntax(pre_hook: ModuleType, key: str, value: str, fragment: str) -> None:
    assert_refused(pre_hook, fragment, **{key: value})


def test_empty_input_prefix_allowed_when_suffix_cannot_match(pre_hook: ModuleType) -> None:
    assert errors_for(pre_hook, __input_prefix="", __input_suffix=".csv") == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("__input_prefix", 'in"coming/'),  # would end a YAML string
        ("__output_prefix", "out\\put/"),  # a YAML escape
        ("__state_prefix", "state*/"),  # an IAM and EventBridge wildcard
        ("__output_prefix", "${AWS::Region}/"),  # a !Sub reference
        ("__input_prefix", "my data/"),  # URL-encoded in S3 events and filters
        ("__input_prefix", "eingänge/"),  # likewise
        ("__input_suffix", ".c?v"),
    ],
)
def test_prefix_characters_that_need_escaping_refused(pre_hook: ModuleType, key: str, value: str) -> None:
    assert_refused(pre_hook, "use only letters, digits", **{key: value})


@pytest.mark.parametrize("value", ["in-coming/", "a.b_c/(x)/", "it's/", "wow!/", "Upper/Case/"])
def test_safe_prefix_characters_allowed(pre_hook: ModuleType, value: str) -> None:
    assert errors_for(pre_hook, __input_prefix=value) == []


@pytest.mark.parametrize(
    ("output_prefix", "state_prefix"),
    [("data/", "data/state/"), ("out/", "out/"), ("a/b/", "a/")],
)
def test_output_and_state_must_not_overlap(pre_hook: ModuleType, output_prefix: str, state_prefix: str) -> None:
    assert_refused(pre_hook, "overlap", __output_prefix=output_prefix, __state_prefix=state_prefix)


@pytest.mark.parametrize(
    ("input_prefix", "input_suffix", "output_prefix", "state_prefix"),
    [
        ("", "", "processed/", "_state/"),  # everything triggers
        ("", ".jsonl", "processed/", "_state/"),  # output parts end in .jsonl
        ("", "json", "processed/", "_state/"),  # suffix of .json / .jsonl
        ("", "l", "processed/", "_state/"),  # suffix of .jsonl
        ("processed/", ".csv.json", "processed/", "_state/"),  # ends with .json
        ("processed/run/", ".bin", "processed/", "_state/"),  # inside the output prefix
        ("data/", ".json", "data/out/", "data/state/"),  # output lies inside the input prefix
        ("_state/", "", "processed/", "_state/"),
    ],
)
def test_loop_through_s3_refused(
    pre_hook: ModuleType, input_prefix: str, input_suffix: str, output_prefix: str, state_prefix: str
) -> None:
    errors = errors_for(
        pre_hook,
        __input_prefix=input_prefix,
        __input_suffix=input_suffix,
        __output_prefix=output_prefix,
        __state_prefix=state_prefix,
    )
    assert any("recursive loop through S3" in e for e in errors), errors


@pytest.mark.parametrize(
    ("input_prefix", "input_suffix", "output_prefix", "state_prefix"),
    [
        ("incoming/", "", "processed/", "_state/"),  # disjoint prefixes
        ("", ".csv", "processed/", "_state/"),  # no written key ends with .csv
        ("", ".CSV", "processed/", "_state/"),  # uppercase never appears in written keys
        ("data/", ".txt", "data/out/", "data/state/"),
        ("", ".jsonx", "processed/", "_state/"),
        ("processed2/", "", "processed/", "_state/"),  # neither prefix starts with the other
    ],
)
def test_safe_filters_accepted(
    pre_hook: ModuleType, input_prefix: str, input_suffix: str, output_prefix: str, state_prefix: str
) -> None:
    changes = {
        "__input_prefix": input_prefix,
        "__input_suffix": input_suffix,
        "__output_prefix": output_prefix,
        "__state_prefix": state_prefix,
    }
    assert errors_for(pre_hook, **changes) == []


def deployed_config() -> ModuleType:
    """The template's config.py, which the function runs at init and `make deploy` before deploying."""
    path = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.__package_name}}" / "config.py"
    spec = importlib.util.spec_from_file_location("template_config", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# Prefix-like strings over the characters that decide the rule: written-key letters, one that
# written keys never use (uppercase), the separators and the written extensions' pieces.
_KEY_PIECES = st.sampled_from(
    ["a", "b", "Z", "/", ".", "-", "_", "json", "jsonl", "bin", "l", "n", "gz", "processed/", "_state/"]
)
_KEYS = st.lists(_KEY_PIECES, max_size=6).map("".join)


@settings(max_examples=3000, deadline=None)
@given(input_prefix=_KEYS, input_suffix=_KEYS, written_prefix=_KEYS)
def test_loop_rule_is_the_deployed_one(
    pre_hook: ModuleType, input_prefix: str, input_suffix: str, written_prefix: str
) -> None:
    """Bake time and run time refuse exactly the same filters (the hook cannot import config.py:
    cookiecutter runs it from a temporary copy, away from the template)."""
    config = _CONFIG
    assert pre_hook.filter_matches_writes(input_prefix, input_suffix, written_prefix) == config.filter_matches_writes(
        input_prefix, input_suffix, written_prefix
    )
    assert pre_hook.trigger_suffixes(input_suffix) == config.trigger_suffixes(input_suffix)


_CONFIG = deployed_config()


def test_existing_bucket_may_be_named_at_deploy_time(pre_hook: ModuleType) -> None:
    """Each environment usually has its own bucket: the name may be left to ExistingBucketName."""
    assert errors_for(pre_hook, create_bucket=False) == []
    assert errors_for(pre_hook, create_bucket=False, __existing_bucket_name="my-data.bucket-1") == []


@pytest.mark.parametrize("key", ["memory_mb", "input_prefix", "stack_name", "existing_bucket_name"])
def test_a_former_answer_says_where_it_went(pre_hook: ModuleType, key: str) -> None:
    """An old replay file still carries keys that are now parameters: say so, never drop them silently."""
    errors = errors_for(pre_hook, **{key: "x"})
    assert len(errors) == 1, errors
    assert f"'{key}' is no longer an answer" in errors[0]
    assert f"'__{key}'" in errors[0]
    if key != "stack_name":
        assert "make deploy PARAMS=" in errors[0]


def test_existing_bucket_with_create_is_ambiguous(pre_hook: ModuleType) -> None:
    assert_refused(pre_hook, "create_bucket is true", __existing_bucket_name="my-bucket")


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "My-Bucket",
        "my_bucket",
        "-bucket",
        "bucket-",
        "my..bucket",
        "my.-bucket",
        "192.168.5.4",
        "xn--bucket",
        "sthree-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
    ],
)
def test_bucket_naming_rules(pre_hook: ModuleType, name: str) -> None:
    assert_refused(pre_hook, "__existing_bucket_name", create_bucket=False, __existing_bucket_name=name)


@pytest.mark.parametrize("key", ["project_name", "author_name"])
def test_blank_text_refused(pre_hook: ModuleType, key: str) -> None:
    assert_refused(pre_hook, key, **{key: "   "})


def test_awkward_text_accepted(pre_hook: ModuleType) -> None:
    assert (
        errors_for(
            pre_hook,
            project_name='Ann\'s "Quoted" Pröcessor \\ ✓',
            description='It\'s """triple""" \\n and ünïcode',
            author_name="Zoë O'Brien",
        )
        == []
    )


def test_all_errors_reported_at_once(pre_hook: ModuleType) -> None:
    errors = errors_for(pre_hook, __memory_mb="1", __timeout_seconds="0", aws_region="moon")
    assert len(errors) == 3


def render_hook(hook: str, answers: dict[str, Any], tmp_path: Path) -> Path:
    """Render the hook as cookiecutter does (its Jinja environment, the answers as `cookiecutter`)."""
    source = (TEMPLATE / "hooks" / hook).read_text(encoding="utf-8")
    env = StrictEnvironment(context={"cookiecutter": answers}, keep_trailing_newline=True)
    script = tmp_path / hook
    script.write_text(env.from_string(source).render(cookiecutter=answers), encoding="utf-8")
    return script


def run_rendered_hook(hook: str, answers: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = render_hook(hook, answers, tmp_path)
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False)


HOSTILE = {
    **DEFAULTS,
    "description": 'x"""; import os; os._exit(7) #\\',
    "project_name": "'''<&>\\ ünï ✓",
    "author_name": 'O\'Brien "Jr" \\"""',
}


def _rendered(hook: str, answers: dict[str, Any], tmp_path: Path) -> ModuleType:
    script = render_hook(hook, answers, tmp_path)
    spec = importlib.util.spec_from_file_location("rendered_hook", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rendered_hook_survives_hostile_strings(tmp_path: Path) -> None:
    """Quotes, triple quotes and backslashes in answers cannot break out of ANSWERS_JSON."""
    assert _rendered("pre_gen_project.py", HOSTILE, tmp_path).load_answers() == HOSTILE


def test_rendered_post_hook_knows_only_the_mode(tmp_path: Path) -> None:
    """The post-generation hook renders one answer, a choice; the free text never reaches it."""
    assert _rendered("post_gen_project.py", {**HOSTILE, "processing_mode": "jsonl"}, tmp_path).MODE == "jsonl"


def test_rendered_pre_hook_accepts_good_answers(tmp_path: Path) -> None:
    result = run_rendered_hook("pre_gen_project.py", DEFAULTS, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_rendered_hook_exits_1_with_error_lines(tmp_path: Path) -> None:
    result = run_rendered_hook("pre_gen_project.py", {**DEFAULTS, "__memory_mb": "99999"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: __memory_mb=99999 must be between 128 and 10240")


def test_unrendered_hook_refuses_to_run(pre_hook: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"^ERROR:"):
        pre_hook.load_answers()


def test_long_stack_name_fits_when_no_bucket_is_created(pre_hook: ModuleType) -> None:
    """Only the bucket name limits stack_name to lowercase and ~40 characters; the function name allows 54."""
    name = "Upper-" + "a" * 48
    assert errors_for(pre_hook, __stack_name=name, create_bucket=False, __existing_bucket_name="my-data") == []


def test_replay_hint_names_the_saved_answers(pre_hook: ModuleType) -> None:
    hint = pre_hook.replay_hint(
        {"_template": "gh:org/recursive-s3", "_repo_dir": "/home/me/.cookiecutters/recursive-s3"}
    )
    assert "~/.cookiecutter_replay/recursive-s3.json" in hint
    assert hint.endswith("cookiecutter --replay-file ~/.cookiecutter_replay/recursive-s3.json gh:org/recursive-s3")


def test_answers_record_numbers_as_numbers(pre_hook: ModuleType) -> None:
    recorded = pre_hook.recorded_answers({"__reserved_concurrency": "00", "__memory_mb": " 2048", "__max_hops": 7})
    assert recorded == {"__reserved_concurrency": 0, "__memory_mb": 2048, "__max_hops": 7}


def test_answers_file_is_replay_format(pre_hook: ModuleType, tmp_path: Path) -> None:
    answers = {
        "project_name": "Zoë's",
        "create_bucket": False,
        "__package_name": "p",
        "_template": "gh:org/repo",
        "_output_dir": "/home/me/tmp",
        "_repo_dir": "/home/me/.cookiecutters/repo",
        "_checkout": None,
        "_extensions": ["cookiecutter.extensions.SlugifyExtension"],
    }
    path = pre_hook.write_answers(tmp_path, answers)
    assert path.name == ".cookiecutter.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "cookiecutter": {
            "project_name": "Zoë's",
            "create_bucket": False,
            "__package_name": "p",
            "_template": "gh:org/repo",
        }
    }
