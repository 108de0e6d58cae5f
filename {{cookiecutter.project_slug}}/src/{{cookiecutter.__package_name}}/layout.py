"""Where a run keeps its things in S3: one place that names every key the function writes.

State (checkpoints, launch markers, quarantine, outcome, staged output) lives under STATE_PREFIX,
committed output (parts and the manifest) under OUTPUT_PREFIX, both grouped by run id. An attempt
writes its output parts to staging keys of its own; only the attempt whose checkpoint commit wins
copies them to their output keys, so nothing but committed output ever appears under OUTPUT_PREFIX.
Every key ends with one of config.WRITTEN_SUFFIXES, which is what lets the trigger-filter check
prove no write can re-trigger.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

RUN_ID_RE = re.compile(r"[0-9a-f]{24}")


def check_run_id(run_id: object) -> str:
    """Payloads name a run; only ids that run_id_for can make may reach a key (no '../', no '*')."""
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        raise ValueError(f"run_id {run_id!r} is not a run id (24 lowercase hex digits)")
    return run_id


def run_id_for(bucket: str, key: str, etag: str, version_id: str | None) -> str:
    """A run is one object version: duplicate S3 events for it map to the same run."""
    ident = json.dumps([bucket, key, etag.strip('"'), version_id or ""], ensure_ascii=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RunLayout:
    state_prefix: str
    output_prefix: str
    run_id: str

    @property
    def state_dir(self) -> str:
        return f"{self.state_prefix}runs/{self.run_id}/"

    @property
    def output_dir(self) -> str:
        return f"{self.output_prefix}{self.run_id}/"

    def checkpoint(self, hop: int) -> str:
        return f"{self.state_dir}checkpoints/{hop:06d}.json"

    def launched(self, hop: int) -> str:
        return f"{self.state_dir}launched/{hop:06d}.json"

    def outcome(self) -> str:
        # Beside the checkpoints, sorting after every hop's: the one listing that looks for hop
        # k+1's checkpoint also sees whether the run has ended (CheckpointStore.next_of).
        return f"{self.state_dir}checkpoints/outcome.json"

    def quarantine(self, hop: int, attempt: str, seq: int) -> str:
        return f"{self.state_dir}quarantine/{hop:06d}-{attempt}-{seq:04d}.jsonl"

    def staged_part(self, hop: int, attempt: str, seq: int, ext: str) -> str:
        return f"{self.state_dir}staging/{hop:06d}-{attempt}-{seq:04d}{ext}"

    def part(self, hop: int, seq: int, ext: str) -> str:
        return f"{self.output_dir}parts/{hop:06d}-{seq:04d}{ext}"

    def parts_of_hop(self, hop: int) -> str:
        """The key prefix of the output parts that hop `hop` committed."""
        return f"{self.output_dir}parts/{hop:06d}-"

    def manifest(self) -> str:
        return f"{self.output_dir}manifest.json"
