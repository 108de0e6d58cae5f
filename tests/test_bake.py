"""Bake the real template with cookiecutter (API and CLI) and inspect what comes out."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from .conftest import FULL_BAKES, MODES, SLUG, TEMPLATE, Bake, package_dir
from .project_runs import ProjectRun, gated

PKG = "{pkg}"  # filled in per project
TEMPLATE_PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
SKIP_DIRS = {".venv", ".venv-sam", ".aws-sam", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SAMPLE_EXT = {"csv": ".csv", "jsonl": ".jsonl", "bytes": ".bin"}

# Files every generated project has, whatever the mode (owners in SPEC.md).
COMMON_FILES = [
    ".cookiecutter.json",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".github/workflows/ci.yml",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "requirements-dev.txt",
    "template.yaml",
    "samconfig.toml",
    "mk/deploy.mk",
    "mk/simulate.mk",
    f"src/{PKG}/__init__.py",
    f"src/{PKG}/handler.py",
    f"src/{PKG}/config.py",
    f"src/{PKG}/requirements.txt",
    f"src/{PKG}/records.py",
    f"src/{PKG}/process.py",
    "tests/unit/test_records.py",
    "tests/unit/test_process.py",
    "events/s3_put.json",
]


def project_files(root: Path) -> list[Path]:
    """Every file of a baked project, leaving out environments and caches made by running it."""
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(root).parts):
            found.append(path)
    return found


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


class AnyTagLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that also reads CloudFormation short forms (!Sub, !Ref, !GetAtt, ...)."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    assert isinstance(node, yaml.MappingNode)
    return {suffix: loader.construct_mapping(node, deep=True)}


AnyTagLoader.add_multi_constructor("!", _any_tag)


# --- one bake per mode (the `baked` fixture), checked file by file -------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_no_jinja_left(baked: dict[str, Path], mode: str) -> None:
    leftovers = []
    for path in project_files(baked[mode]):
        text = text_of(path)
        if text is not None and ("{{ cookiecutter" in text or "{{cookiecutter" in text or "{%" in text):
            leftovers.append(path.relative_to(baked[mode]).as_posix())
        if "cookiecutter" in path.name and path.name != ".cookiecutter.json":
            leftovers.append(path.relative_to(baked[mode]).as_posix())
    assert leftovers == []


@pytest.mark.parametrize("mode", MODES)
def test_expected_files_present(baked: dict[str, Path], mode: str) -> None:
    root = baked[mode]
    pkg = package_dir(root).name
    expected = [rel.format(pkg=pkg) for rel in COMMON_FILES] + [f"events/sample{SAMPLE_EXT[mode]}"]
    if mode != "bytes":
        expected.append(f"src/{pkg}/textframe.py")
    missing = [rel for rel in expected if not (root / rel).is_file()]
    assert missing == []


@pytest.mark.parametrize("mode", MODES)
def test_other_modes_absent(baked: dict[str, Path], mode: str) -> None:
    """No file is left with a mode tag, and bytes mode has no text framing."""
    root = baked[mode]
    stray = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if "@" in p.name or (mode == "bytes" and "textframe" in p.name)
    ]
    assert stray == []
    others = {SAMPLE_EXT[m] for m in MODES if m != mode}
    assert [p.name for p in root.glob("events/*") if p.suffix in others] == []


def mode_specific_names(mode: str) -> set[str]:
    """The template's own names for files only `mode` has (`records@jsonl` gives `records_jsonl`,
    the name an untagged copy would have had), read off the tree."""
    names = set()
    for path in TEMPLATE_PROJECT.rglob("*@*"):
        name, _, owners = path.stem.rpartition("@")
        if owners.split("+") == [mode]:
            names.update({f"{name}_{mode}", f"{name}@{mode}"})
    return names


@pytest.mark.parametrize("mode", MODES)
def test_nothing_mentions_other_modes(baked: dict[str, Path], mode: str) -> None:
    """Text does not refer to the modes that were dropped: their file names, "<mode> mode(s)", or
    `processing_mode == "<mode>"`; bytes mode has no mention of textframe. Plain words such as
    "bytes" or ".jsonl" stay allowed: every mode writes JSON Lines output and counts bytes."""
    root = baked[mode]
    patterns: list[re.Pattern[str]] = []
    for other in MODES:
        if other == mode:
            continue
        patterns.append(re.compile(rf"\b{other} modes?\b|mode\s*==\s*['\"]{other}['\"]", re.IGNORECASE))
        patterns.extend(re.compile(rf"\b{re.escape(stem)}\b") for stem in mode_specific_names(other))
    if mode == "bytes":
        patterns.append(re.compile("textframe", re.IGNORECASE))
    hits: list[str] = []
    for path in project_files(root):
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            hits.extend(f"{path.relative_to(root)}:{number}: {line.strip()}" for p in patterns if p.search(line))
    assert hits == []


@pytest.mark.parametrize("mode", MODES)
def test_structured_files_parse(baked: dict[str, Path], mode: str) -> None:
    parsed = 0
    for path in project_files(baked[mode]):
        if path.suffix in (".yaml", ".yml"):
            yaml.load(path.read_text(encoding="utf-8"), Loader=AnyTagLoader)
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        else:
            continue
        parsed += 1
    assert parsed >= 5  # pyproject, samconfig, template, pre-commit, ci, answers, events


@pytest.mark.parametrize("mode", MODES)
def test_answers_recorded(baked: dict[str, Path], mode: str) -> None:
    recorded = json.loads((baked[mode] / ".cookiecutter.json").read_text(encoding="utf-8"))["cookiecutter"]
    assert sorted(k for k in recorded if k != "_template") == sorted(SETTABLE)
    assert recorded["processing_mode"] == mode
    assert recorded["_template"] == str(TEMPLATE)
    assert recorded["create_bucket"] is (mode != "jsonl")
    typed = {k: int(v) if k in ("__reserved_concurrency", "__memory_mb") else v for k, v in FULL_BAKES[mode].items()}
    assert {k: recorded[k] for k in FULL_BAKES[mode]} == typed


def test_answers_recorded_as_typed_values(baked: dict[str, Path]) -> None:
    """Numbers typed with a leading zero or space are recorded as the numbers they mean."""
    recorded = json.loads((baked["jsonl"] / ".cookiecutter.json").read_text(encoding="utf-8"))["cookiecutter"]
    assert (recorded["__reserved_concurrency"], recorded["__memory_mb"], recorded["create_bucket"]) == (0, 2048, False)


@pytest.mark.parametrize("mode", MODES)
def test_deployed_dependencies_agree(baked: dict[str, Path], mode: str) -> None:
    """pyproject's [project].dependencies mirror what SAM installs (src/PKG/requirements.txt)."""
    root = baked[mode]
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    lines = (package_dir(root) / "requirements.txt").read_text(encoding="utf-8").splitlines()
    required = [line.split("#")[0].strip() for line in lines]
    assert sorted(declared) == sorted(r for r in required if r)
    assert any(d.startswith("orjson") for d in declared) == (mode != "bytes")


# --- more bakes: answers, the CLI, replay ----------------------------------------------------------


def test_awkward_strings_bake(bake: Bake, tmp_path: Path) -> None:
    name = 'Zoë\'s "Quoted" Pröcessor'
    description = 'It\'s a "fast" one, with \\backslashes\\, """triple quotes""" & <ünïcode> ✓'
    author = 'Seán O\'Brien "Jr"'
    root = bake(tmp_path, project_name=name, description=description, author_name=author)
    assert root.name == "zoe-s-quoted-processor"
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["description"] == description
    assert project["authors"][0]["name"] == author
    assert name in (root / "README.md").read_text(encoding="utf-8")
    assert (root / "src" / "zoe_s_quoted_processor").is_dir()
    for path in project_files(root):
        if path.suffix in (".yaml", ".yml"):
            yaml.load(path.read_text(encoding="utf-8"), Loader=AnyTagLoader)
    recorded = json.loads((root / ".cookiecutter.json").read_text(encoding="utf-8"))["cookiecutter"]
    assert recorded["description"] == description


# Every key a user may set with --no-input key=value: the asked ones and the unasked `__` ones
# (the stack parameters' defaults, the stack name), not cookiecutter's own settings.
SETTABLE = [
    k
    for k in json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    if not k.startswith("_") or (k.startswith("__") and k != "__prompts__")
]
ASKED = [k for k in SETTABLE if not k.startswith("_")]


def test_at_most_ten_questions(tmp_path: Path, cc_config: Path) -> None:
    """What shapes code and names is asked; what is tuned per environment is a deploy parameter."""
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--config-file", str(cc_config), "-o", str(tmp_path), str(TEMPLATE)],
        input="\n" * 40,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counters = set(re.findall(r"\[(\d+)/(\d+)\]", result.stdout))
    asked = {int(n) for n, total in counters if int(total) > 2}  # [1/2] numbers a choice's options
    assert asked == set(range(1, len(ASKED) + 1)), (sorted(asked), ASKED)
    assert len(ASKED) <= 10, ASKED
    assert (tmp_path / SLUG / "template.yaml").is_file()


# A valid, non-default value for every settable key: each must get through --no-input key=value.
OVERRIDES = {
    "project_name": "Other Name",
    "project_slug": "other-slug",
    "description": "Other description",
    "author_name": "Ada",
    "author_email": "ada@example.org",
    "processing_mode": "jsonl",
    "lambda_runtime": "python3.11",
    "lambda_architecture": "x86_64",
    "aws_region": "eu-central-2",
    "__memory_mb": "2048",
    "__timeout_seconds": "300",
    "__ephemeral_storage_mb": "4096",
    "__max_hops": "50",
    "__max_run_hours": "6",
    "__reserved_concurrency": "0",
    "__async_retries": "0",
    "__input_prefix": "in/",
    "__input_suffix": ".gz",
    "__output_prefix": "out/",
    "__state_prefix": "state/",
    "__on_object_change": "restart",
    "__state_retention_days": "3",
    "create_bucket": "false",
    "__existing_bucket_name": "my-existing-bucket",
    "__stack_name": "other-stack",
}


def test_overrides_cover_every_key() -> None:
    assert set(OVERRIDES) == set(SETTABLE) - {"__package_name"}


@pytest.mark.parametrize("key", sorted(OVERRIDES))
def test_every_key_overridable(bake: Bake, tmp_path: Path, key: str, pre_hook: ModuleType) -> None:
    extra = {key: OVERRIDES[key]}
    if key == "create_bucket":
        extra["__existing_bucket_name"] = OVERRIDES["__existing_bucket_name"]
    if key == "__existing_bucket_name":
        extra["create_bucket"] = "false"
    root = bake(tmp_path, **extra)
    recorded = json.loads((root / ".cookiecutter.json").read_text(encoding="utf-8"))["cookiecutter"]
    expected: Any = False if key == "create_bucket" else OVERRIDES[key]
    if key in pre_hook.INT_RANGES:
        expected = int(expected)
    assert recorded[key] == expected
    if key == "project_slug":
        assert root.name == "other-slug"
        assert recorded["__package_name"] == "other_slug"


def run_cli(args: list[str], cwd: Path, cc_config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--config-file", str(cc_config), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_cli_bad_slug_refused_and_nothing_left(tmp_path: Path, cc_config: Path) -> None:
    result = run_cli([str(TEMPLATE), "--no-input", "-o", str(tmp_path), "project_slug=Bad Slug!"], tmp_path, cc_config)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ERROR: project_slug='Bad Slug!' must use only lowercase letters" in output
    assert list(tmp_path.iterdir()) == []


def test_cli_booleans_and_numbers(tmp_path: Path, cc_config: Path) -> None:
    """CLI values are strings: "false" becomes a real boolean, numbers stay validated text."""
    result = run_cli(
        [
            str(TEMPLATE),
            "--no-input",
            "-o",
            str(tmp_path),
            "processing_mode=bytes",
            "create_bucket=false",
            "__existing_bucket_name=my-data-bucket",
            "__memory_mb=3008",
            "__input_prefix=raw/",
        ],
        tmp_path,
        cc_config,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = json.loads((tmp_path / SLUG / ".cookiecutter.json").read_text(encoding="utf-8"))["cookiecutter"]
    assert recorded["create_bucket"] is False
    assert recorded["__memory_mb"] == 3008
    assert recorded["__input_suffix"] == ""
    assert recorded["__input_prefix"] == "raw/"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create_bucket=maybe"], "could not be converted to a boolean"),
        (["__memory_mb=64"], "ERROR: __memory_mb=64 must be between 128 and 10240"),
        (["processing_mode=xml"], "xml provided for choice variable processing_mode"),
        (["processing_mode=bytes", "__input_prefix="], "recursive loop through S3"),
        (["__input_prefix=processed/", "__input_suffix=.jsonl"], "recursive loop through S3"),
    ],
    ids=["bool", "memory", "mode", "bytes-anything", "jsonl-in-output"],
)
def test_cli_bad_values_refused(tmp_path: Path, cc_config: Path, args: list[str], message: str) -> None:
    result = run_cli([str(TEMPLATE), "--no-input", "-o", str(tmp_path), *args], tmp_path, cc_config)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


def test_replay_reproduces_the_project(bake: Bake, tmp_path: Path, cc_config: Path) -> None:
    """`.cookiecutter.json` is enough to bake the same project again, also over itself."""
    first = bake(
        tmp_path / "a",
        processing_mode="jsonl",
        __memory_mb="512",
        create_bucket="false",
        __existing_bucket_name="my-bucket",
    )
    answers = first / ".cookiecutter.json"
    again = run_cli(["--replay-file", str(answers), "-o", str(tmp_path / "b"), str(TEMPLATE)], tmp_path, cc_config)
    assert again.returncode == 0, again.stdout + again.stderr
    second = tmp_path / "b" / first.name

    def snapshot(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in project_files(root)}

    assert snapshot(second) == snapshot(first)
    over = run_cli(["--replay-file", str(answers), "-f", "-o", str(tmp_path / "a"), str(TEMPLATE)], tmp_path, cc_config)
    assert over.returncode == 0, over.stdout + over.stderr
    assert snapshot(first) == snapshot(second)


def test_pre_commit_configs_valid(baked: dict[str, Path]) -> None:
    """Both pre-commit configs are valid and run the repository's own pinned tools from .venv
    (local system hooks: no second list of pins to drift, nothing fetched from GitHub)."""
    configs = [
        TEMPLATE / ".pre-commit-config.yaml",
        *(root / ".pre-commit-config.yaml" for root in baked.values()),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", *map(str, configs)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for config in configs:
        repos = yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]
        assert {repo["repo"] for repo in repos} == {"local"}
        for hook in (h for repo in repos for h in repo["hooks"]):
            assert hook["language"] == "system", hook["id"]
            assert "additional_dependencies" not in hook, hook["id"]
            assert ".venv/bin/" in hook["entry"], hook["id"]


@pytest.mark.slow
def test_pre_commit_runs_the_projects_own_tools(make_runs: dict[str, ProjectRun], tmp_path: Path) -> None:
    """`pre-commit run --all-files` in a fresh git repository of a baked project passes, with the
    tools `make install` pinned (on a copy: the project's own lint may be running)."""
    code, output = make_runs["jsonl"].wait("install")
    assert code == 0, output
    root = make_runs["jsonl"].root
    copy = tmp_path / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".venv*", ".*_cache", "__pycache__", ".aws-sam"))
    (copy / ".venv").symlink_to(root / ".venv")
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=copy, check=True)
    with gated("pre-commit run --all-files on a bake"):  # not while a project's end-to-end tests run
        done = subprocess.run(
            [str(copy / ".venv" / "bin" / "pre-commit"), "run", "--all-files"],
            cwd=copy,
            env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Passed") == 4, done.stdout


@pytest.mark.parametrize("mode", MODES)
def test_ci_workflow_keeps_github_expressions(baked: dict[str, Path], mode: str) -> None:
    workflow = yaml.safe_load((baked[mode] / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["check"]["steps"]
    assert steps[1]["with"]["python-version"] == "${{ matrix.python }}"
    assert [s.get("run") for s in steps[-2:]] == ["make lint", "make test"]
    runtime = FULL_BAKES[mode].get("lambda_runtime", "python3.13").removeprefix("python")
    assert workflow["jobs"]["check"]["strategy"]["matrix"]["python"] == sorted({"3.11", runtime})


def test_replay_of_a_former_version_says_where_answers_went(tmp_path: Path, cc_config: Path) -> None:
    """A replay file written before the tunables became stack parameters is refused with directions."""
    first = tmp_path / "old.json"
    first.write_text(json.dumps({"cookiecutter": {**OLD_ANSWERS, "_template": str(TEMPLATE)}}), encoding="utf-8")
    result = run_cli(["--replay-file", str(first), "-o", str(tmp_path / "out"), str(TEMPLATE)], tmp_path, cc_config)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ERROR: 'memory_mb' is no longer an answer: it is the default of the stack parameter MemorySize" in output
    assert "rename it to '__memory_mb'" in output
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


OLD_ANSWERS = {
    "project_name": "Old Project",
    "project_slug": "old-project",
    "description": "d",
    "author_name": "a",
    "author_email": "a@example.com",
    "processing_mode": "csv",
    "lambda_runtime": "python3.13",
    "lambda_architecture": "arm64",
    "aws_region": "us-east-1",
    "memory_mb": 2048,
    "create_bucket": True,
    "__package_name": "old_project",
}


def test_whole_number_answers_have_the_templates_bounds(baked: dict[str, Path], pre_hook: ModuleType) -> None:
    """The hook's bounds for each number are its stack parameter's MinValue and MaxValue."""
    template = yaml.load((baked["csv"] / "template.yaml").read_text(encoding="utf-8"), Loader=AnyTagLoader)
    for key, bounds in pre_hook.INT_RANGES.items():
        spec = template["Parameters"][pre_hook.PARAMETER_OF[key.removeprefix("__")]]
        assert (spec["MinValue"], spec["MaxValue"]) == bounds, key
