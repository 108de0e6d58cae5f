"""Shared fixtures: the hook modules, an isolated cookiecutter config, and one bake per mode."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
MODES = ("csv", "jsonl", "bytes")
SLUG = "s3-record-processor"  # what the default project_name slugifies to


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
    """Each mode baked once per session (the slow checks reuse these projects)."""
    projects = {mode: bake(tmp_path_factory.mktemp(f"bake-{mode}"), processing_mode=mode) for mode in MODES}
    return projects
