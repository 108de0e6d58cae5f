"""Bake fuzzer: whole answer sets drawn by tests/fuzz_answers.py, baked with the real cookiecutter
CLI. Each set is either refused by the pre-generation hook (exit 1, every message `ERROR: ...`,
no folder left) or bakes a project that has no template syntax left, whose every YAML, TOML and
JSON file parses and every Python file compiles, that passes `ruff check` and
`ruff format --check`, whose template.yaml passes cfn-lint and the SAM translator, and whose
handler imports with template.yaml's environment (tests/bake_check.py, in a baked .venv).

FUZZ_DRAWS (default 40 in `make test`; `make fuzz` draws 400) and FUZZ_SEED pick the draws.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE
from .fuzz_answers import draw_answers
from .project_runs import ProjectRun, gated
from .test_bake import AnyTagLoader, project_files, text_of

DRAWS = int(os.environ.get("FUZZ_DRAWS", "40"))
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
CHECKER = Path(__file__).with_name("bake_check.py")
# Answers that broke a held-out check once, drawn first every time.
CURATED = [
    {"project_name": "Orders CSV", "processing_mode": "csv"},
    {"project_name": "Sales Bytes", "processing_mode": "csv"},
    {"project_name": "Click Stream", "processing_mode": "jsonl"},
    {"project_name": "Orders CSV", "processing_mode": "jsonl"},
    {"project_name": "Sales Bytes", "processing_mode": "bytes", "description": 'Say "hi" from C:\\Users\\data'},
]


@dataclass
class Draw:
    index: int
    answers: dict[str, str]
    out: Path
    code: int
    stderr: str

    @property
    def project(self) -> Path | None:
        made = [p for p in self.out.iterdir() if p.is_dir()] if self.out.exists() else []
        return made[0] if len(made) == 1 else None

    def label(self) -> str:
        return f"draw {self.index} (FUZZ_SEED={SEED}): " + " ".join(f"{k}={v!r}" for k, v in self.answers.items())


def bake_cli(answers: dict[str, str], out: Path, cc_config: Path) -> subprocess.CompletedProcess[str]:
    args = [f"{k}={v}" for k, v in answers.items()]
    cli = [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(cc_config), "-o", str(out)]
    return subprocess.run(
        [*cli, str(TEMPLATE), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="session")
def draws(tmp_path_factory: pytest.TempPathFactory, cc_config: Path) -> list[Draw]:
    rng = random.Random(SEED)
    root = tmp_path_factory.mktemp("fuzz")
    made = []
    for index in range(DRAWS):
        answers = CURATED[index] if index < len(CURATED) else draw_answers(rng)
        out = root / f"{index:04d}"
        proc = bake_cli(answers, out, cc_config)
        made.append(Draw(index, answers, out, proc.returncode, proc.stderr))
    return made


def baked_ok(draws: list[Draw]) -> list[Draw]:
    return [d for d in draws if d.code == 0]


def test_each_draw_is_refused_cleanly_or_bakes(draws: list[Draw]) -> None:
    problems = []
    for d in draws:
        if d.code == 0:
            if d.project is None or not (d.project / "template.yaml").is_file():
                problems.append(f"{d.label()}: exit 0 but no project")
            continue
        errors = [line for line in d.stderr.splitlines() if line.startswith("ERROR: ")]
        if not errors:
            problems.append(f"{d.label()}: exit {d.code} without an 'ERROR:' line:\n{d.stderr[-1500:]}")
        if d.out.exists() and any(d.out.iterdir()):
            problems.append(f"{d.label()}: refused but left {[p.name for p in d.out.iterdir()]}")
    assert problems == []
    # Enough of both kinds that the fuzzer tests something: most draws are legal answers.
    accepted = len(baked_ok(draws))
    assert accepted >= 0.4 * len(draws), f"only {accepted} of {len(draws)} draws baked"
    assert accepted < len(draws) or len(draws) < 10, "no draw was refused: the generator lost its bad answers"


def test_baked_projects_are_well_formed(draws: list[Draw]) -> None:
    problems = []
    for d in baked_ok(draws):
        assert d.project is not None
        package = d.project / "src" / d.project.name.replace("-", "_")
        if not (package / "handler.py").is_file():
            problems.append(f"{d.label()}: no {package.relative_to(d.project)}/handler.py")
        for path in project_files(d.project):
            rel = path.relative_to(d.project).as_posix()
            text = text_of(path)
            if "@" in path.name or "cookiecutter" in path.name.replace(".cookiecutter.json", ""):
                problems.append(f"{d.label()}: template file name left: {rel}")
            if text is None:
                continue
            if "{{ cookiecutter" in text or "{{cookiecutter" in text or "{%" in text:
                problems.append(f"{d.label()}: template syntax left in {rel}")
            try:
                if path.suffix in (".yaml", ".yml"):
                    yaml.load(text, Loader=AnyTagLoader)
                elif path.suffix == ".toml":
                    tomllib.loads(text)
                elif path.suffix == ".json":
                    json.loads(text)
                elif path.suffix == ".py":
                    compile(text, rel, "exec")
            except Exception as exc:
                problems.append(f"{d.label()}: {rel} does not parse: {exc}")
    assert problems == []


def test_baked_projects_pass_ruff(draws: list[Draw]) -> None:
    projects = [str(d.project) for d in baked_ok(draws)]
    for command in (["check", "--no-cache", "--quiet"], ["format", "--check", "--no-cache", "--quiet"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *projects], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"ruff {command[0]}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"


@pytest.mark.slow
def test_baked_projects_lint_translate_and_import(draws: list[Draw], make_runs: dict[str, ProjectRun]) -> None:
    """cfn-lint, the SAM translator and the handler import, in the csv project's .venv (the pinned
    runtime and IaC dependencies; csv's is the superset of every mode's)."""
    code, output = make_runs["csv"].wait("install")
    assert code == 0, output[-3000:]
    python = make_runs["csv"].root / ".venv" / "bin" / "python"
    ok = {str(d.project): d for d in baked_ok(draws)}
    with gated("fuzz draws: cfn-lint, translate, import"):  # not while a project's end-to-end tests run
        proc = subprocess.run([str(python), str(CHECKER), *ok], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results: dict[str, list[str]] = json.loads(proc.stdout)
    assert sorted(results) == sorted(ok)
    failed = {ok[path].label(): problems for path, problems in results.items() if problems}
    assert failed == {}
