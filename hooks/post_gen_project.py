"""Tailor the freshly generated project to the chosen processing mode and record the answers.

Rule: a path whose stem ends with `_csv`, `_jsonl` or `_bytes` belongs to that mode. The chosen
mode's paths lose the suffix (`records_csv.py` -> `records.py`); the other modes' are deleted, so
the project reads as if it had only ever known one mode. Bytes mode also drops the text framing
module. The hook is offline and idempotent (cruft and `cookiecutter --replay-file` run it again
over an existing project), and it does not `git init`: that is the user's call.
"""

from __future__ import annotations

import json
import shutil
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
# Modules (and their tests) that only the text modes use.
TEXT_ONLY_STEMS = frozenset({"textframe", "test_textframe"})
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


def mode_of(path: Path) -> str | None:
    """The mode a path belongs to, from its stem's `_<mode>` suffix; None for shared paths."""
    for mode in MODES:
        if path.stem.endswith(f"_{mode}") and len(path.stem) > len(mode) + 1:
            return mode
    return None


def without_mode(path: Path, mode: str) -> Path:
    """`events/sample_csv.csv` -> `events/sample.csv`."""
    return path.with_name(path.stem[: -len(mode) - 1] + path.suffix)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def tailor(root: Path, mode: str) -> list[str]:
    """Keep `mode`'s paths under their plain names, delete the others; returns what it did."""
    if mode not in MODES:
        raise ValueError(f"unknown processing_mode {mode!r}")
    actions: list[str] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        for path in sorted(folder.iterdir()):
            if path.is_dir() and path.name in SKIP_DIRS:
                continue
            owner = mode_of(path)
            rel = path.relative_to(root).as_posix()
            if owner is None and mode == "bytes" and path.stem in TEXT_ONLY_STEMS:
                _remove(path)
                actions.append(f"deleted {rel}")
            elif owner is None:
                if path.is_dir() and not path.is_symlink():
                    pending.append(path)
            elif owner != mode:
                _remove(path)
                actions.append(f"deleted {rel}")
            else:
                target = without_mode(path, mode)
                if target.exists():
                    _remove(target)
                path.rename(target)
                actions.append(f"renamed {rel} -> {target.relative_to(root).as_posix()}")
                if target.is_dir():
                    pending.append(target)
    return actions


def recorded_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """What `.cookiecutter.json` keeps: every answer, the derived package name and `_template`."""
    return {
        key: value
        for key, value in answers.items()
        if key not in LOCAL_KEYS and (not key.startswith("_") or key in ("_template", "__package_name"))
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
