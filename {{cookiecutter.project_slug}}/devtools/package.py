"""The deployed package (src/<package>), imported as SAM's CodeUri and pytest see it, and its Config
as this project's template configures the function."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from . import project

SRC = Path(__file__).resolve().parents[1] / "src"


def deployed_package(module: str) -> Any:
    """A module of the deployed package (src/ is put on sys.path, as SAM's CodeUri and pytest do)."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    return importlib.import_module(f"{project.PACKAGE}.{module}")


def config() -> Any:
    """The deployed code's Config with this project's baked prefixes (as template.yaml sets them)."""
    cfg_mod = deployed_package("config")
    return cfg_mod.Config.from_env(project.function_env())
