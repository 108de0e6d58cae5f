"""Tailor the freshly generated project to the chosen processing mode (the pre-generation hook
has already validated the answers and recorded them in `.cookiecutter.json`).

Rule: a template file named `<name>@<modes>.<ext>` belongs to the modes listed after the `@`
(`records@csv.py`, `textframe@csv+jsonl.py`). For the chosen mode it becomes `<name>.<ext>`;
for the others it is deleted, so the project reads as if it had only ever known one mode. The
tag is a character no project or package name can hold (slugs are letters, digits and dashes),
so a slug such as `orders-csv` is never mistaken for a mode's file. The hook is offline and
idempotent (cruft and `cookiecutter --replay-file ... -f` run it again over an existing project),
keeps the user's own files on such a re-run, and does not `git init`: that is the user's call.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Rendered by cookiecutter with Jinja before this runs (a choice: one of MODES, nothing to escape).
# Unrendered, tailor() refuses it as an unknown mode.
MODE = "{{ cookiecutter.processing_mode }}"

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


def main() -> int:
    root = Path.cwd()  # cookiecutter runs post-generation hooks inside the new project
    tailor(root, MODE)
    print(f"Created {root.name} ({MODE} mode). Next: cd {root.name} && make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
