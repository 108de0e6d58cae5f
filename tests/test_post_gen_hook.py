"""hooks/post_gen_project.py on small trees: the mode rule, idempotence, the answers file."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

TREE = [
    "src/pkg/records_csv.py",
    "src/pkg/records_jsonl.py",
    "src/pkg/records_bytes.py",
    "src/pkg/process_csv.py",
    "src/pkg/process_jsonl.py",
    "src/pkg/process_bytes.py",
    "src/pkg/textframe.py",
    "src/pkg/handler.py",
    "tests/unit/test_records_csv.py",
    "tests/unit/test_records_jsonl.py",
    "tests/unit/test_records_bytes.py",
    "tests/unit/test_textframe.py",
    "events/sample_csv.csv",
    "events/sample_jsonl.jsonl",
    "events/sample_bytes.bin",
    "events/s3_put_csv.json",
    "events/s3_put_jsonl.json",
    "events/s3_put_bytes.json",
    "fixtures_jsonl/a.txt",
    "fixtures_csv/b_bytes.txt",
    "notes/_csv",  # only the suffix: a shared name, not a mode's file
    ".venv/lib/site/thing_bytes.py",  # environments are never touched
]


def make_tree(root: Path) -> None:
    for rel in TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel, encoding="utf-8")


def listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


EXPECTED = {
    "csv": {
        "src/pkg/records.py",
        "src/pkg/process.py",
        "src/pkg/textframe.py",
        "src/pkg/handler.py",
        "tests/unit/test_records.py",
        "tests/unit/test_textframe.py",
        "events/sample.csv",
        "events/s3_put.json",
        "notes/_csv",
        ".venv/lib/site/thing_bytes.py",
    },
    "jsonl": {
        "src/pkg/records.py",
        "src/pkg/process.py",
        "src/pkg/textframe.py",
        "src/pkg/handler.py",
        "tests/unit/test_records.py",
        "tests/unit/test_textframe.py",
        "events/sample.jsonl",
        "events/s3_put.json",
        "fixtures/a.txt",
        "notes/_csv",
        ".venv/lib/site/thing_bytes.py",
    },
    "bytes": {
        "src/pkg/records.py",
        "src/pkg/process.py",
        "src/pkg/handler.py",
        "tests/unit/test_records.py",
        "events/sample.bin",
        "events/s3_put.json",
        "notes/_csv",
        ".venv/lib/site/thing_bytes.py",
    },
}


@pytest.mark.parametrize("mode", ["csv", "jsonl", "bytes"])
def test_tailor_keeps_only_the_chosen_mode(post_hook: ModuleType, tmp_path: Path, mode: str) -> None:
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, mode)
    expected = set(EXPECTED[mode])
    if mode == "bytes":
        # fixtures_csv/ went away with its contents; nothing of csv/jsonl remains.
        assert not (tmp_path / "fixtures").exists()
    assert listing(tmp_path) == expected
    assert (tmp_path / "src/pkg/records.py").read_text() == f"src/pkg/records_{mode}.py"


def test_tailor_applies_the_rule_inside_kept_folders(post_hook: ModuleType, tmp_path: Path) -> None:
    """fixtures_csv/ is kept as fixtures/, but its b_bytes.txt still belongs to bytes mode."""
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, "csv")
    assert (tmp_path / "fixtures").is_dir()
    assert list((tmp_path / "fixtures").iterdir()) == []


def test_tailor_is_idempotent(post_hook: ModuleType, tmp_path: Path) -> None:
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, "jsonl")
    before = {p: (tmp_path / p).read_bytes() for p in listing(tmp_path)}
    assert post_hook.tailor(tmp_path, "jsonl") == []
    assert {p: (tmp_path / p).read_bytes() for p in listing(tmp_path)} == before


def test_tailor_over_an_existing_project_replaces_stale_files(post_hook: ModuleType, tmp_path: Path) -> None:
    """Re-baking over a project (cookiecutter -f, cruft update) brings records_csv.py back."""
    make_tree(tmp_path)
    post_hook.tailor(tmp_path, "csv")
    (tmp_path / "src/pkg/records_csv.py").write_text("new", encoding="utf-8")
    post_hook.tailor(tmp_path, "csv")
    assert (tmp_path / "src/pkg/records.py").read_text() == "new"
    assert not (tmp_path / "src/pkg/records_csv.py").exists()


def test_unknown_mode_refused(post_hook: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="processing_mode"):
        post_hook.tailor(tmp_path, "xml")


@pytest.mark.parametrize(
    ("name", "mode"),
    [("records_csv.py", "csv"), ("sample_jsonl.jsonl", "jsonl"), ("x_bytes", "bytes"), ("_csv", None)],
)
def test_mode_of(post_hook: ModuleType, name: str, mode: str | None) -> None:
    assert post_hook.mode_of(Path(name)) == mode


def test_answers_file_is_replay_format(post_hook: ModuleType, tmp_path: Path) -> None:
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
    path = post_hook.write_answers(tmp_path, answers)
    assert path.name == ".cookiecutter.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "cookiecutter": {
            "project_name": "Zoë's",
            "create_bucket": False,
            "__package_name": "p",
            "_template": "gh:org/repo",
        }
    }


def test_unrendered_hook_refuses_to_run(post_hook: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"^ERROR:"):
        post_hook.load_answers()
