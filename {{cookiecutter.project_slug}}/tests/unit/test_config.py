"""Configuration from the environment: defaults, validation, the trigger-loop check."""

from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }}.config import (
    Config,
    ConfigError,
    filter_matches_writes,
)

BASE = {"INPUT_PREFIX": "incoming/"}


def load(**env: str) -> Config:
    return Config.from_env({**BASE, **env})


def test_defaults() -> None:
    cfg = load()
    assert cfg.max_hops == 1000
    assert cfg.on_object_change == "fail"
    assert cfg.output_prefix == "processed/"
    assert cfg.state_prefix == "_state/"
    assert cfg.cache_disk_bytes == (512 * 3 // 4) << 20


def test_values_are_read() -> None:
    cfg = load(
        MAX_HOPS="7",
        MAX_RUN_SECONDS="60",
        MAX_STALLED_HOPS="4",
        ON_OBJECT_CHANGE="restart",
        CACHE_MEMORY_MB="3",
        EPHEMERAL_STORAGE_MB="2048",
        READ_CHUNK_BYTES="8192",
        PART_BYTES="2048",
        MARGIN_FACTOR="2.5",
        OUTPUT_PREFIX="out/",
        STATE_PREFIX="state/",
    )
    assert (cfg.max_hops, cfg.max_run_seconds, cfg.max_stalls) == (7, 60, 4)
    assert cfg.on_object_change == "restart"
    assert cfg.cache_memory_bytes == 3 << 20
    assert cfg.cache_disk_bytes == 1536 << 20
    assert (cfg.read_chunk_bytes, cfg.part_bytes, cfg.margin_factor) == (8192, 2048, 2.5)
    assert (cfg.output_prefix, cfg.state_prefix) == ("out/", "state/")


def test_empty_values_mean_the_default() -> None:
    assert load(MAX_HOPS="", ON_OBJECT_CHANGE="").max_hops == 1000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_HOPS", "abc", "MAX_HOPS='abc' is not a whole number"),
        ("MAX_HOPS", "1.5", "is not a whole number"),
        ("MAX_HOPS", "0", "MAX_HOPS=0 must be >= 1"),
        ("MAX_HOPS", "-3", "must be >= 1"),
        ("MAX_RUN_SECONDS", "soon", "MAX_RUN_SECONDS"),
        ("MAX_STALLED_HOPS", "0", "MAX_STALLED_HOPS=0"),
        ("READ_CHUNK_BYTES", "100", "READ_CHUNK_BYTES=100 must be >= 4096"),
        ("MAX_RECORD_BYTES", "10", "MAX_RECORD_BYTES"),
        ("PART_BYTES", "1", "PART_BYTES"),
        ("CACHE_MEMORY_MB", "-1", "CACHE_MEMORY_MB"),
        ("MIN_MARGIN_MS", "x", "MIN_MARGIN_MS"),
        ("MARGIN_FACTOR", "0.5", "MARGIN_FACTOR=0.5 must be >= 1.0"),
        ("MARGIN_FACTOR", "fast", "MARGIN_FACTOR='fast' is not a number"),
        ("BYTES_CHUNK_SIZE", "0", "BYTES_CHUNK_SIZE"),
        ("ON_OBJECT_CHANGE", "ignore", "ON_OBJECT_CHANGE='ignore' must be one of fail, restart"),
        ("ON_OBJECT_CHANGE", "FAIL", "must be one of"),
        ("OUTPUT_PREFIX", "processed", "OUTPUT_PREFIX='processed' must end with '/'"),
        ("STATE_PREFIX", "_state", "STATE_PREFIX='_state' must end with '/'"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load(**{name: value})


def test_batch_sizes_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="MAX_BATCH_RECORDS must be >= FIRST_BATCH_RECORDS"):
        load(FIRST_BATCH_RECORDS="100", MAX_BATCH_RECORDS="10")


@pytest.mark.parametrize(
    "env",
    [
        {"INPUT_PREFIX": "processed/"},
        {"INPUT_PREFIX": "processed/sub/"},
        {"INPUT_PREFIX": "", "INPUT_SUFFIX": ".json"},
        {"INPUT_PREFIX": "_state/", "INPUT_SUFFIX": ".jsonl"},
        {"INPUT_PREFIX": "data/", "OUTPUT_PREFIX": "data/out/"},
        {"INPUT_PREFIX": "data/in/", "STATE_PREFIX": "data/"},
    ],
)
def test_prefix_overlapping_the_input_filter_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="lies inside the input filter"):
        Config.from_env(env)


@pytest.mark.parametrize(
    ("prefix", "suffix", "written", "matches"),
    [
        # prefixes unrelated: never
        ("incoming/", "", "processed/", False),
        ("incoming/", ".json", "processed/", False),
        ("in", "", "processed/", False),
        # the written prefix inside the input prefix, or the other way round
        ("", "", "processed/", True),
        ("processed/", "", "processed/", True),
        ("processed/2024/", "", "processed/", True),
        ("proc", "", "processed/", True),
        ("data/", "", "data/out/", True),
        # ...unless the suffix can never end a written key
        ("", ".csv", "processed/", False),
        ("", ".CSV", "processed/", False),
        ("", ".json.gz", "processed/", False),
        ("", "~", "processed/", False),
        ("", ".txt", "processed/", False),
        # suffixes that can end a written key
        ("", ".json", "processed/", True),
        ("", ".jsonl", "processed/", True),
        ("", ".bin", "processed/", True),
        ("", "n", "processed/", True),
        ("", "l", "processed/", True),
        ("", "son", "processed/", True),
        ("", "manifest.json", "processed/", True),
        ("processed/", ".bin", "processed/", True),
    ],
)
def test_filter_matches_writes(prefix: str, suffix: str, written: str, matches: bool) -> None:
    assert filter_matches_writes(prefix, suffix, written) is matches


def test_own_keys() -> None:
    cfg = load(INPUT_SUFFIX=".csv")
    assert cfg.is_own_key("processed/run/manifest.json")
    assert cfg.is_own_key("_state/runs/x/checkpoints/000000.json")
    assert not cfg.is_own_key("incoming/a.csv")


def test_defaults_alone_are_a_valid_configuration() -> None:
    """config.py promises the function runs 'with no configuration at all'."""
    Config.from_env({})


def test_run_budget_in_hours_as_the_stack_sets_it() -> None:
    assert load(MAX_RUN_HOURS="6").max_run_seconds == 6 * 3600
    assert load(MAX_RUN_HOURS="6", MAX_RUN_SECONDS="90").max_run_seconds == 90  # finer, for tests
    with pytest.raises(ConfigError, match="MAX_RUN_HOURS"):
        load(MAX_RUN_HOURS="0")


def test_memory_cache_is_a_quarter_of_the_function_memory() -> None:
    """Lambda passes the memory size; the stack cannot divide a parameter, so the code does."""
    assert load(AWS_LAMBDA_FUNCTION_MEMORY_SIZE="3008").cache_memory_bytes == 752 << 20
    assert load(AWS_LAMBDA_FUNCTION_MEMORY_SIZE="3008", CACHE_MEMORY_MB="5").cache_memory_bytes == 5 << 20
    assert load().cache_memory_bytes == Config().cache_memory_bytes


@pytest.mark.parametrize(("output", "state"), [("data/", "data/state/"), ("x/", "x/"), ("run/out/", "run/")])
def test_overlapping_output_and_state_prefixes_refused(output: str, state: str) -> None:
    """Output is listed and state expired by prefix: a deploy override must not nest them."""
    with pytest.raises(ConfigError, match="overlap"):
        load(OUTPUT_PREFIX=output, STATE_PREFIX=state)
