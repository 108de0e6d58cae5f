"""Where a run keeps its things in S3: one place that names every key the function writes.

State (checkpoints, ledger pages, launch markers, quarantine, outcome, staged output) lives under STATE_PREFIX,
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
CHAIN_RE = re.compile(r"r[0-9]{4}g[0-9]{1,6}")


def chain_id(index: int, generation: int) -> str:
    """A range chain of a fan-out run: range `index`, read for the `generation`-th time."""
    return f"r{index:04d}g{generation}"


def check_chain(chain: object) -> str:
    """Payloads may name a range chain; only ids chain_id makes may reach a key."""
    if not isinstance(chain, str) or not (chain == "" or CHAIN_RE.fullmatch(chain)):
        raise ValueError(f"chain {chain!r} is not a range chain id (like r0003g0)")
    return chain


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
    """Keys of one chain of a run: the run's own (chain "") or one range chain of a fan-out run,
    whose state lives under the run's `ranges/` and whose parts sit beside the run's, named for it."""

    state_prefix: str
    output_prefix: str
    run_id: str
    chain: str = ""

    @property
    def run_dir(self) -> str:
        return f"{self.state_prefix}runs/{self.run_id}/"

    @property
    def state_dir(self) -> str:
        return f"{self.run_dir}ranges/{self.chain}/" if self.chain else self.run_dir

    def of_chain(self, chain: str) -> RunLayout:
        return RunLayout(self.state_prefix, self.output_prefix, self.run_id, chain)

    def run(self) -> RunLayout:
        """The run's own keys (plan, manifest, outcome), seen from any of its chains."""
        return self.of_chain("")

    @property
    def ranges_dir(self) -> str:
        return f"{self.run_dir}ranges/"

    def plan(self) -> str:
        return f"{self.run_dir}plan.json"

    def finished(self, chain: str) -> str:
        """A range chain's record that it reached its limit (where it began and ended)."""
        return f"{self.run_dir}finished/{chain}.json"

    @property
    def finished_dir(self) -> str:
        return f"{self.run_dir}finished/"

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

    def ledger_page(self, hop: int, attempt: str, level: int) -> str:
        """A page of the chain's ledger of parts, written by an attempt committing hop `hop`."""
        return f"{self.ledger_dir}{hop:06d}-{attempt}-{level}.json"

    def staged_part(self, hop: int, attempt: str, seq: int, ext: str) -> str:
        return f"{self.state_dir}staging/{hop:06d}-{attempt}-{seq:04d}{ext}"

    def part(self, hop: int, seq: int, ext: str) -> str:
        return f"{self.parts_of_hop(hop)}{seq:04d}{ext}"

    def parts_of_hop(self, hop: int) -> str:
        """The key prefix of the output parts that hop `hop` committed."""
        return f"{self.chain_parts}{hop:06d}-"

    @property
    def chain_parts(self) -> str:
        """The key prefix of every output part this chain commits (a range chain's are named for it)."""
        return f"{self.output_dir}parts/{self.chain}-" if self.chain else f"{self.output_dir}parts/"

    @property
    def ledger_dir(self) -> str:
        return f"{self.state_dir}ledger/"

    def manifest(self) -> str:
        return f"{self.output_dir}manifest.json"
