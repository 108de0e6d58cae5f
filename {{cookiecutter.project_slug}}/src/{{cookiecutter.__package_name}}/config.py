"""Settings read once from the environment, validated, with defaults that suit production.

Every knob has a default so the function runs with no configuration at all; a bad value fails the
cold start with a message naming the variable, because a misread limit (say, a depth guard of 0)
is worse than no start.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

_POLICIES = ("fail", "restart")

# Every key the function writes ends with one of these (see layout.py).
WRITTEN_SUFFIXES = (".json", ".jsonl", ".bin")
# ...and after its prefix uses only these characters.
_WRITTEN_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789/._-")


class ConfigError(ValueError):
    """An environment variable holds a value the function cannot use."""


@dataclass(frozen=True)
class Config:
    input_prefix: str = "incoming/"
    input_suffix: str = ""
    output_prefix: str = "processed/"
    state_prefix: str = "_state/"
    max_hops: int = 1000
    max_run_seconds: int = 48 * 3600
    max_stalls: int = 2
    on_object_change: str = "fail"
    first_batch_records: int = 256
    max_batch_records: int = 20_000
    target_batch_ms: int = 100
    min_margin_ms: int = 500
    margin_factor: float = 1.5
    read_chunk_bytes: int = 256 << 10
    max_record_bytes: int = 64 << 20
    part_bytes: int = 8 << 20
    cache_memory_bytes: int = 64 << 20
    cache_disk_bytes: int = 0
    cache_dir: str = ""
    quarantine_raw_bytes: int = 4096
    bytes_chunk_size: int = 1 << 20
    parallelism: int = 1  # range chains a large object is split into (1: one sequential chain)
    min_range_bytes: int = 64 << 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        d = cls()
        cfg = cls(
            input_prefix=_str(env, "INPUT_PREFIX", d.input_prefix),
            input_suffix=_str(env, "INPUT_SUFFIX", d.input_suffix),
            output_prefix=_str(env, "OUTPUT_PREFIX", d.output_prefix),
            state_prefix=_str(env, "STATE_PREFIX", d.state_prefix),
            max_hops=_int(env, "MAX_HOPS", d.max_hops, 1),
            max_run_seconds=_int(env, "MAX_RUN_SECONDS", _run_hours(env, d.max_run_seconds) * 3600, 1),
            max_stalls=_int(env, "MAX_STALLED_HOPS", d.max_stalls, 1),
            on_object_change=_choice(env, "ON_OBJECT_CHANGE", d.on_object_change, _POLICIES),
            first_batch_records=_int(env, "FIRST_BATCH_RECORDS", d.first_batch_records, 1),
            max_batch_records=_int(env, "MAX_BATCH_RECORDS", d.max_batch_records, 1),
            target_batch_ms=_int(env, "TARGET_BATCH_MS", d.target_batch_ms, 1),
            min_margin_ms=_int(env, "MIN_MARGIN_MS", d.min_margin_ms, 0),
            margin_factor=_float(env, "MARGIN_FACTOR", d.margin_factor, 1.0),
            read_chunk_bytes=_int(env, "READ_CHUNK_BYTES", d.read_chunk_bytes, 4096),
            max_record_bytes=_int(env, "MAX_RECORD_BYTES", d.max_record_bytes, 1024),
            part_bytes=_int(env, "PART_BYTES", d.part_bytes, 1024),
            cache_memory_bytes=_int(env, "CACHE_MEMORY_MB", _default_cache_mb(env, d.cache_memory_bytes), 0) << 20,
            cache_disk_bytes=_int(env, "CACHE_DISK_MB", _default_disk_mb(env), 0) << 20,
            cache_dir=_str(env, "CACHE_DIR", os.path.join(tempfile.gettempdir(), "etag-cache")),
            quarantine_raw_bytes=_int(env, "QUARANTINE_RAW_BYTES", d.quarantine_raw_bytes, 0),
            bytes_chunk_size=_int(env, "BYTES_CHUNK_SIZE", d.bytes_chunk_size, 1),
            parallelism=_int(env, "PARALLELISM", d.parallelism, 1),
            min_range_bytes=_int(
                env, "MIN_RANGE_BYTES", _int(env, "MIN_RANGE_MB", d.min_range_bytes >> 20, 1) << 20, 1
            ),
        )
        if cfg.max_batch_records < cfg.first_batch_records:
            raise ConfigError("MAX_BATCH_RECORDS must be >= FIRST_BATCH_RECORDS")
        if cfg.output_prefix.startswith(cfg.state_prefix) or cfg.state_prefix.startswith(cfg.output_prefix):
            raise ConfigError(
                f"OUTPUT_PREFIX={cfg.output_prefix!r} and STATE_PREFIX={cfg.state_prefix!r} overlap: "
                "output is listed and state expired by prefix, so they need two separate folders"
            )
        for name, prefix in (("OUTPUT_PREFIX", cfg.output_prefix), ("STATE_PREFIX", cfg.state_prefix)):
            if not prefix.endswith("/"):
                raise ConfigError(f"{name}={prefix!r} must end with '/'")
            if filter_matches_writes(cfg.input_prefix, cfg.input_suffix, prefix):
                raise ConfigError(
                    f"{name}={prefix!r} lies inside the input filter "
                    f"(INPUT_PREFIX={cfg.input_prefix!r}, INPUT_SUFFIX={cfg.input_suffix!r}): "
                    "what the function writes would trigger it again"
                )
        return cfg

    def is_own_key(self, key: str) -> bool:
        """True for keys the function itself writes; it must never process them."""
        return key.startswith(self.output_prefix) or key.startswith(self.state_prefix)


def filter_matches_writes(input_prefix: str, input_suffix: str, written_prefix: str) -> bool:
    """Could the trigger filter (prefix, suffix) match a key written under `written_prefix`?

    That would be a loop through S3: each output would start another run.
    """
    if not (input_prefix.startswith(written_prefix) or written_prefix.startswith(input_prefix)):
        return False
    if not input_suffix:
        return True
    return any(_could_end_a_write(suffix) for suffix in trigger_suffixes(input_suffix))


def trigger_suffixes(input_suffix: str) -> tuple[str, ...]:
    """What uploads must end with to start a run (none: any key). template.yaml's trigger fires
    for the input suffix and for it plus ".gz" (a compressed upload of the same data)."""
    if not input_suffix:
        return ()
    return (input_suffix,) if input_suffix.endswith(".gz") else (input_suffix, input_suffix + ".gz")


def _could_end_a_write(suffix: str) -> bool:
    if not set(suffix) <= _WRITTEN_ALPHABET:
        return False
    return any(ext.endswith(suffix) or suffix.endswith(ext) for ext in WRITTEN_SUFFIXES)


def _run_hours(env: Mapping[str, str], default_seconds: int) -> int:
    # The stack sets whole hours (MAX_RUN_HOURS); MAX_RUN_SECONDS, finer, wins when set (tests).
    return _int(env, "MAX_RUN_HOURS", default_seconds // 3600, 1)


def _default_cache_mb(env: Mapping[str, str], default_bytes: int) -> int:
    # A quarter of the function's memory, which Lambda passes in AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
    memory_mb = _int(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 0)
    return memory_mb // 4 if memory_mb else default_bytes >> 20


def _default_disk_mb(env: Mapping[str, str]) -> int:
    # Lambda does not tell the function its /tmp size; the template passes EPHEMERAL_STORAGE_MB.
    # Keep a quarter free for the user's own scratch files.
    try:
        storage = int(env.get("EPHEMERAL_STORAGE_MB", "512"))
    except ValueError:
        storage = 512
    return storage * 3 // 4


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be >= {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be >= {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value
