"""Guards that make every chain end: depth (max hops), progress, and a wall-time run budget.

Each trip raises its own error type; the handler records the run as failed (so retries and
duplicates stop at once) and re-raises, so the invocation fails and Lambda sends the event with
the error message, which names the run and the reason, to the on-failure destination.
"""

from __future__ import annotations

import time

from .checkpoint import Checkpoint
from .config import Config


class RunStopped(Exception):
    """A guard ended the run; the message says which run and why."""


class DepthExceededError(RunStopped):
    pass


class NoProgressError(RunStopped):
    pass


class RunBudgetExceededError(RunStopped):
    pass


def check_before_hop(checkpoint: Checkpoint, cfg: Config, now: float | None = None) -> None:
    if checkpoint.hop >= cfg.max_hops:
        raise DepthExceededError(
            f"run {checkpoint.run_id} reached the depth guard: hop {checkpoint.hop} would exceed "
            f"MAX_HOPS={cfg.max_hops} at {checkpoint.position}. "
            "Raise MAX_HOPS (or the timeout) and resume the run"
        )
    elapsed = (time.time() if now is None else now) - checkpoint.started_at
    if elapsed > cfg.max_run_seconds:
        raise RunBudgetExceededError(
            f"run {checkpoint.run_id} exceeded its run budget: {elapsed:.0f} s since it started, "
            f"MAX_RUN_SECONDS={cfg.max_run_seconds}, at {checkpoint.position}"
        )


# How many more starved hops in a row than reading ones a run survives (see check_progress): at 200 ms
# hops on a machine whose every core was busy, two in a row failed runs that then went on fine.
STARVED_STALLS = 5


def check_progress(
    checkpoint: Checkpoint,
    new_offset: int,
    done: bool,
    max_stalls: int,
    detail: str,
    cold: bool = False,
    read: bool = True,
) -> int:
    """The stall count for the next checkpoint; raises when hops keep ending where they began.

    A hop on a cold container that makes no progress proves nothing (its init and first
    connections ate the time), so it is not counted; `max_stalls` warm hops in a row that read
    without progress mean a record is too large for one invocation, and going on would loop
    forever. A hop that had no time to `read` at all says less (a loaded machine or a slow S3
    round trip starves a hop now and then): only STARVED_STALLS times as many in a row mean a
    timeout too short for a commit. (Should every hop be cold, the depth guard ends the run.)
    """
    if done or new_offset > checkpoint.offset:
        return 0
    if cold:
        return checkpoint.stalls
    stalls = checkpoint.stalls + 1
    if stalls >= max_stalls * (1 if read else STARVED_STALLS):
        cause = (
            "A single record is larger than one invocation can read and process: raise the function timeout "
            "or memory, or fix the record"
            if read
            else "The last hop began with less time left than committing needs, so it read nothing: raise "
            "the function timeout (or look for what slows S3 round trips or the CPU)"
        )
        raise NoProgressError(
            f"run {checkpoint.run_id} made no progress in {stalls} hops in a row: still at "
            f"{checkpoint.position} after hop {checkpoint.hop} ({detail}). {cause}"
        )
    return stalls
