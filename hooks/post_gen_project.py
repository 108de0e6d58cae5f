"""Tailor the freshly generated project to the chosen processing mode and record the answers.

Rule: a template file named `<name>@<modes>.<ext>` belongs to the modes listed after the `@`
(`records@csv.py`, `textframe@csv+jsonl.py`). For the chosen mode it becomes `<name>.<ext>`;
for the others it is deleted, so the project reads as if it had only ever known one mode. The
tag is a character no project or package name can hold (slugs are letters, digits and dashes),
so a slug such as `orders-csv` is never mistaken for a mode's file. The hook is offline and
idempotent (cruft and `cookiecutter --replay-file ... -f` run it again over an existing project),
keeps the user's own files on such a re-run, and does not `git init`: that is the user's call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Rendered by cookiecutter with Jinja before this runs: `tojson` yields ASCII-only JSON in which
# every quote and backslash of an answer is escaped, so nothing can end the raw triple-quoted
# string early; json.loads reads it back. Unrendered, the placeholder is valid Python, so tests
# can import this module.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

MODES = ("csv", "jsonl", "bytes")
MODE_TAG = "@"
# The files the user is told to edit: a re-bake over an existing project keeps their version.
USER_OWNED = frozenset({"process.py", "test_process.py"})
# Never descend into tool output or environments: their files are not the template's.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        ".venv-sam",
        ".aws-sam",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
    }
)
# Written so `cookiecutter --replay-file .cookiecutter.json` (and cruft) can regenerate the project.
ANSWERS_FILE = ".cookiecutter.json"
# Machine-local keys that must not be recorded (they differ on every machine).
LOCAL_KEYS = frozenset({"_output_dir", "_repo_dir", "_checkout"})
# Values that are whole numbers: recorded as numbers, whatever the user typed ("00", " 2048").
INT_KEYS = frozenset(
    {
        "__memory_mb",
        "__timeout_seconds",
        "__ephemeral_storage_mb",
        "__max_hops",
        "__max_run_hours",
        "__reserved_concurrency",
        "__async_retries",
        "__state_retention_days",
    }
)


def modes_of(path: Path) -> frozenset[str] | None:
    """The modes a template file belongs to, from its `@<mode>[+<mode>]` tag; None for shared files."""
    name, tag, modes = path.stem.rpartition(MODE_TAG)
    if not tag or not name:
        return None
    owners = frozenset(modes.split("+"))
    return owners if owners <= set(MODES) else None


def untagged(path: Path) -> Path:
    """`events/sample@csv.csv` -> `events/sample.csv`."""
    return path.with_name(path.stem.rpartition(MODE_TAG)[0] + path.suffix)


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        for path in sorted(folder.iterdir()):
            if path.is_dir() and not path.is_symlink():
                if path.name not in SKIP_DIRS:
                    pending.append(path)
            else:
                found.append(path)
    return found


def tailor(root: Path, mode: str) -> list[str]:
    """Keep `mode`'s tagged files under their plain names, delete the others; returns what it did."""
    if mode not in MODES:
        raise ValueError(f"unknown processing_mode {mode!r}")
    actions: list[str] = []
    for path in _files(root):
        owners = modes_of(path)
        if owners is None:
            continue
        rel = path.relative_to(root).as_posix()
        target = untagged(path)
        if mode not in owners:
            path.unlink()
            actions.append(f"deleted {rel}")
        elif target.exists() and target.name in USER_OWNED:
            path.unlink()
            actions.append(f"kept your {target.relative_to(root).as_posix()}")
        else:
            path.replace(target)
            actions.append(f"renamed {rel} -> {target.relative_to(root).as_posix()}")
    return actions


def recorded_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """What `.cookiecutter.json` keeps: every answer, the unasked `__` values (the stack parameters'
    defaults) and `_template`; not cookiecutter's own `_` settings or the prompts' labels."""
    return {
        key: int(str(value).strip()) if key in INT_KEYS else value
        for key, value in answers.items()
        if key not in LOCAL_KEYS
        and key != "__prompts__"
        and (not key.startswith("_") or key.startswith("__") or key == "_template")
    }


def write_answers(root: Path, answers: Mapping[str, Any]) -> Path:
    """Store the answers in cookiecutter's replay format (`{"cookiecutter": {...}}`)."""
    target = root / ANSWERS_FILE
    payload = {"cookiecutter": recorded_answers(answers)}
    target.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def load_answers(raw: str = ANSWERS_JSON) -> dict[str, Any]:
    """The rendered answers; refuses to run on the unrendered placeholder."""
    if raw.startswith("{" * 2):  # still the placeholder (spelled so Jinja leaves it alone)
        raise SystemExit("ERROR: run this hook through cookiecutter (it was not rendered)")
    answers = json.loads(raw)
    if not isinstance(answers, dict):
        raise SystemExit("ERROR: the cookiecutter context is not a JSON object")
    return answers


def main() -> int:
    answers = load_answers()
    root = Path.cwd()  # cookiecutter runs post-generation hooks inside the new project
    mode = str(answers["processing_mode"])
    tailor(root, mode)
    write_answers(root, answers)
    print(f"Created {root.name} ({mode} mode). Next: cd {root.name} && make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
