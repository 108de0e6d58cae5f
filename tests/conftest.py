"""Shared fixtures: the hook modules, an isolated cookiecutter config, and one bake per mode."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from .project_runs import QUIET, make_runs, timeline  # make_runs: the session fixture every slow test module shares

__all__ = ["make_runs"]


TEMPLATE = Path(__file__).resolve().parent.parent
MODES = ("csv", "jsonl", "bytes")
SLUG = "s3-record-processor"  # what the default project_name slugifies to
# The projects that run their own `make install`, `make lint` and `make test` in full: one per
# mode (keyed by it), plus a csv project whose slug ends in another mode's name; named as the
# held-out checks named them (a slug ending in its own or another mode's name; names that sort
# before and after the project's other first-party modules), the jsonl one with every non-default
# choice (existing bucket, restart policy, x86_64, the oldest runtime, odd but legal prefixes,
# numbers typed with a zero or a space).
# A runtime this machine's Python serves (when the template offers it): the projects baked with it
# must sam build (and run `make simulate BUILD=1`) in their own tests without another interpreter.
_RUNTIMES: list[str] = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))["lambda_runtime"]
_THIS_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
MACHINE_RUNTIME = _THIS_PYTHON if _THIS_PYTHON in _RUNTIMES else _RUNTIMES[-1]
FULL_BAKES: dict[str, dict[str, Any]] = {
    "csv": {"processing_mode": "csv", "project_name": "Orders CSV"},
    "jsonl": {
        "processing_mode": "jsonl",
        "project_name": "Click Stream",
        "description": 'Zoë\'s "quoted" \\ description',
        "lambda_runtime": "python3.11",
        "lambda_architecture": "x86_64",
        "__on_object_change": "restart",
        "create_bucket": False,
        "__existing_bucket_name": "my-company-data",
        "__input_prefix": "in-box/(raw)/",
        "__input_suffix": ".JSONL",
        "__output_prefix": "out.put/",
        "__state_prefix": "_run-state!/",
        "__reserved_concurrency": "00",
        "__memory_mb": " 2048",
    },
    "bytes": {
        "processing_mode": "bytes",
        "project_name": "Web Hits",
        "description": 'Reads C:\\data, "hi"',
        "lambda_runtime": MACHINE_RUNTIME,
    },
    "sales-bytes": {"processing_mode": "csv", "project_name": "Sales Bytes", "lambda_runtime": MACHINE_RUNTIME},
}


def load_hook(name: str) -> ModuleType:
    """Import hooks/<name>.py by path: hooks/ is not a package, cookiecutter runs them as scripts."""
    spec = importlib.util.spec_from_file_location(f"hook_{name}", TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pre_hook() -> ModuleType:
    return load_hook("pre_gen_project")


@pytest.fixture(scope="session")
def post_hook() -> ModuleType:
    return load_hook("post_gen_project")


@pytest.fixture(scope="session")
def cc_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cookiecutter config whose replay and clone folders live in tmp, not in the user's home."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(home / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(home / 'replay'))}\n",
        encoding="utf-8",
    )
    return config


Bake = Callable[..., Path]


@pytest.fixture(scope="session")
def bake(cc_config: Path) -> Bake:
    """Bake the template with cookiecutter's Python API, as `--no-input key=value ...` would."""

    def _bake(output_dir: Path, **extra: Any) -> Path:
        return Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context=extra,
                output_dir=str(output_dir),
                config_file=str(cc_config),
            )
        )

    return _bake


@pytest.fixture(scope="session")
def baked(bake: Bake, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each of FULL_BAKES baked once per session (keyed like it; the slow checks reuse them)."""
    return {name: bake(tmp_path_factory.mktemp(f"bake-{name}"), **answers) for name, answers in FULL_BAKES.items()}


def package_dir(root: Path) -> Path:
    """The deployed package of a baked project (its one folder under src/)."""
    (package,) = [p for p in (root / "src").iterdir() if p.is_dir() and not p.name.startswith(".")]
    return package


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (each full bake's own make steps) last, once nothing else loads the machine."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


@pytest.fixture(scope="session", autouse=True)
def _installs_start_first(request: pytest.FixtureRequest) -> None:
    """The full bakes' `make install` runs while the quick tests do, when any slow test will need it."""
    if any(item.get_closest_marker("slow") for item in request.session.items):
        request.getfixturevalue("make_runs")


@pytest.fixture(autouse=True)
def _quiet_from_the_first_slow_test(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slow"):
        QUIET.set()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where the slow part's time went (CI's budget is set by it)."""
    rows = timeline()
    if rows:
        terminalreporter.write_sep("=", "heavy steps, from the session's start")
        for row in rows:
            terminalreporter.write_line(row)
