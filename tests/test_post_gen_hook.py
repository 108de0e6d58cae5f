"""hooks/post_gen_project.py on small trees: the mode rule, idempotence, the answers file."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

PKG = "orders_csv"  # a package whose own name ends like a mode's file: never touched
TREE = [
    f"src/{PKG}/records@csv.py",
    f"src/{PKG}/records@jsonl.py",
    f"src/{PKG}/records@bytes.py",
    f"src/{PKG}/process@csv.py",
    f"src/{PKG}/process@jsonl.py",
    f"src/{PKG}/process@bytes.py",
    f"src/{PKG}/textframe@csv+jsonl.py",
    f"src/{PKG}/handler.py",
    f"src/{PKG}/helpers_bytes.py",  # a user's file: untagged, so shared
    "tests/unit/test_records@csv.py",
    "tests/unit/test_records@jsonl.py",
    "tests/unit/test_records@bytes.py",
    "events/sample@csv.csv",
    "events/sample@jsonl.jsonl",
    "events/sample@bytes.bin",
    "events/s3_put@csv.json",
    "events/s3_put@jsonl.json",
    "events/s3_put@bytes.json",
    "notes/@csv",  # only a tag: a shared name, not a mode's file
    "notes/me@home.txt",  # a tag that names no mode
    ".venv/lib/site/thing@bytes.py",  # environments are never touched
]


def make_tree(root: Path) -> None:
    for rel in TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel, encoding="utf-8")


def listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


SHARED = {
    f"src/{PKG}/records.py",
    f"src/{PKG}/process.py",
    f"src/{PKG}/handler.py",
    f"src/{PKG}/helpers_bytes.py",
    "tests/unit/test_records.py",
    "events/s3_put.json",
    "notes/@csv",
    "notes/me@home.txt",
    ".venv/lib/site/thing@bytes.py",
}
EXPECTED = {
    "csv": SHARED | {f"src/{PKG}/textframe.py", "events/sample.csv"},
    "jsonl": SHARED | {f"src/{PKG}/textframe.py", "events/sample.jsonl"},
    "bytes": SHARED | {"events/sample.bin"},
}


@pytest.mark.parametrize("mode", ["csv", "jsonl", "bytes"])
def test_tailor_keeps_only_the_chosen_mode(post_hook: ModuleType, tmp_path: Path, mode: str) -> None:
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, mode)
    assert listing(tmp_path) == EXPECTED[mode]
    assert (tmp_path / f"src/{PKG}/records.py").read_text() == f"src/{PKG}/records@{mode}.py"


@pytest.mark.parametrize("mode", ["csv", "jsonl", "bytes"])
@pytest.mark.parametrize("slug_end", ["csv", "jsonl", "bytes", "text"])
def test_package_named_like_a_mode_survives(post_hook: ModuleType, tmp_path: Path, mode: str, slug_end: str) -> None:
    """`orders-csv` in jsonl mode once deleted its own package; names are never read as tags."""
    package = tmp_path / "src" / f"sales_{slug_end}"
    package.mkdir(parents=True)
    (package / "handler.py").write_text("x", encoding="utf-8")
    (package / "process@csv+jsonl+bytes.py").write_text("p", encoding="utf-8")
    post_hook.tailor(tmp_path, mode)
    assert listing(tmp_path) == {f"src/sales_{slug_end}/handler.py", f"src/sales_{slug_end}/process.py"}


def test_tailor_is_idempotent(post_hook: ModuleType, tmp_path: Path) -> None:
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, "jsonl")
    before = {p: (tmp_path / p).read_bytes() for p in listing(tmp_path)}
    assert post_hook.tailor(tmp_path, "jsonl") == []
    assert {p: (tmp_path / p).read_bytes() for p in listing(tmp_path)} == before


def test_rebake_replaces_framework_files_and_keeps_the_users(post_hook: ModuleType, tmp_path: Path) -> None:
    """Re-baking over a project (cookiecutter --replay-file -f, cruft) brings the framework's
    records.py up to date but keeps the user's edited process.py."""
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, "csv")
    (tmp_path / f"src/{PKG}/process.py").write_text("mine", encoding="utf-8")
    (tmp_path / f"src/{PKG}/records@csv.py").write_text("new", encoding="utf-8")
    (tmp_path / f"src/{PKG}/process@csv.py").write_text("template's", encoding="utf-8")
    actions = post_hook.tailor(tmp_path, "csv")
    assert (tmp_path / f"src/{PKG}/records.py").read_text() == "new"
    assert (tmp_path / f"src/{PKG}/process.py").read_text() == "mine"
    assert not list(tmp_path.rglob("*@csv.py"))
    assert f"kept your src/{PKG}/process.py" in actions


def test_unknown_mode_refused(post_hook: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="processing_mode"):
        post_hook.tailor(tmp_path, "xml")


@pytest.mark.parametrize(
    ("name", "modes"),
    [
        ("records@csv.py", {"csv"}),
        ("sample@jsonl.jsonl", {"jsonl"}),
        ("textframe@csv+jsonl.py", {"csv", "jsonl"}),
        ("x@bytes", {"bytes"}),
        ("@csv", None),
        ("records_csv.py", None),
        ("a@csv+xml.py", None),
    ],
)
def test_modes_of(post_hook: ModuleType, name: str, modes: set[str] | None) -> None:
    assert post_hook.modes_of(Path(name)) == (None if modes is None else frozenset(modes))


def test_unrendered_hook_refuses_to_run(post_hook: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown processing_mode"):
        post_hook.tailor(Path("."), post_hook.MODE)
