"""Every key the function writes; the run id."""

from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }}.config import WRITTEN_SUFFIXES
from {{ cookiecutter.__package_name }}.layout import RunLayout, run_id_for
from {{ cookiecutter.__package_name }}.records import OUTPUT_EXT

LAYOUT = RunLayout("_state/", "processed/", "abc123")


def all_keys(layout: RunLayout) -> list[str]:
    return [
        layout.checkpoint(0),
        layout.checkpoint(999_999),
        layout.launched(7),
        layout.outcome(),
        layout.quarantine(3, "a1b2c3", 0),
        layout.staged_part(3, "a1b2c3", 0, OUTPUT_EXT),
        layout.staged_part(3, "a1b2c3", 12, ".bin"),
        layout.part(3, 0, OUTPUT_EXT),
        layout.part(3, 12, ".bin"),
        layout.part(3, 12, ".jsonl"),
        layout.ledger_page(3, "a1b2c3", 2),
        layout.manifest(),
        layout.plan(),
        layout.finished("r0003g1"),
        *_chain_keys(layout.of_chain("r0003g1")),
    ]


def _chain_keys(chain: RunLayout) -> list[str]:
    """A range chain of a fan-out run writes the same kinds of keys, in its own folder."""
    return [
        chain.checkpoint(0),
        chain.launched(7),
        chain.outcome(),
        chain.quarantine(3, "a1b2c3", 0),
        chain.staged_part(3, "a1b2c3", 0, OUTPUT_EXT),
        chain.part(3, 0, OUTPUT_EXT),
        chain.ledger_page(3, "a1b2c3", 0),
    ]


@pytest.mark.parametrize("key", all_keys(LAYOUT))
def test_every_written_key_has_a_known_suffix(key: str) -> None:
    assert key.endswith(WRITTEN_SUFFIXES)
    assert key.startswith(("_state/runs/abc123/", "processed/abc123/"))


def test_output_extension_is_a_written_suffix() -> None:
    assert OUTPUT_EXT in WRITTEN_SUFFIXES


def test_keys() -> None:
    assert LAYOUT.checkpoint(12) == "_state/runs/abc123/checkpoints/000012.json"
    assert LAYOUT.launched(12) == "_state/runs/abc123/launched/000012.json"
    assert LAYOUT.outcome() == "_state/runs/abc123/checkpoints/outcome.json"
    assert LAYOUT.quarantine(12, "att", 2) == "_state/runs/abc123/quarantine/000012-att-0002.jsonl"
    assert LAYOUT.staged_part(12, "att", 3, ".jsonl") == "_state/runs/abc123/staging/000012-att-0003.jsonl"
    assert LAYOUT.part(12, 3, ".jsonl") == "processed/abc123/parts/000012-0003.jsonl"
    assert LAYOUT.part(12, 3, ".jsonl").startswith(LAYOUT.parts_of_hop(12))
    assert not LAYOUT.part(120, 3, ".jsonl").startswith(LAYOUT.parts_of_hop(12))
    assert LAYOUT.manifest() == "processed/abc123/manifest.json"


def test_checkpoint_keys_sort_by_hop() -> None:
    keys = [LAYOUT.checkpoint(h) for h in (0, 9, 10, 99, 100, 12345)]
    assert sorted(keys) == keys


def test_run_id_is_stable_and_distinguishes_versions() -> None:
    a = run_id_for("b", "k", '"etag"', None)
    assert a == run_id_for("b", "k", "etag", None)  # quoted or not
    assert len(a) == 24
    assert int(a, 16) >= 0
    others = {
        run_id_for("b2", "k", "etag", None),
        run_id_for("b", "k2", "etag", None),
        run_id_for("b", "k", "etag2", None),
        run_id_for("b", "k", "etag", "v1"),
    }
    assert a not in others
    assert len(others) == 4
