"""Which code a run runs: the published function version that started it, for every hop.

Lambda tells an invocation the version it runs as in AWS_LAMBDA_FUNCTION_VERSION (a number, also
when it was invoked through the `live` alias the trigger targets; `$LATEST` for unpublished code).
Hop 0 records it in the checkpoint and every continuation invokes exactly that version, so a deploy
during a run (a new version, the alias moved) never mixes code, or state shapes, within one run.
"""

from __future__ import annotations

import os

LATEST = "$LATEST"


class VersionMismatchError(Exception):
    """A hop of a run pinned to one function version was invoked on another."""


def running_version() -> str:
    return os.environ.get("AWS_LAMBDA_FUNCTION_VERSION") or LATEST


def pin() -> str:
    """What a new run records: this invocation's version ("" when unpublished: nothing to pin)."""
    version = running_version()
    return "" if version == LATEST else version


def function_arn_to_invoke(invoked_function_arn: str, pinned: str) -> str:
    """The next hop's target: the run's version of this function, whatever qualifier (alias,
    version or none) this hop was invoked with. SELF_FUNCTION_ARN overrides it (tests, tools)."""
    override = os.environ.get("SELF_FUNCTION_ARN")
    if override:
        return override
    if not pinned:
        return invoked_function_arn
    unqualified = ":".join(invoked_function_arn.split(":")[:7])  # arn:aws:lambda:region:account:function:name
    return f"{unqualified}:{pinned}"


def check_version(run_id: str, hop: int, pinned: str) -> None:
    """Refuse to run a pinned run's hop on other code (never guess which code was meant)."""
    running = running_version()
    if pinned and running != pinned:
        raise VersionMismatchError(
            f"run {run_id} is pinned to version {pinned} of this function (the code that started it), "
            f"but its hop {hop} was invoked on version {running}: continuations invoke version {pinned}, "
            f"so something else sent this event. Nothing was processed; `make resume RUN={run_id}` "
            "continues the run on the newest version if that is what you want"
        )
