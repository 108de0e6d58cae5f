"""The FAULTS spec of `make simulate` and the seeded decisions it drives.

Decisions come from one random.Random(seed) in the scheduler, drawn under a lock in the order
events arrive; with a fixed SEED the same faults hit the same positions of the same chain (timing
still decides where batches end, so the chain itself can differ run to run).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


class FaultSpecError(ValueError):
    """FAULTS is not a valid spec; the message says what to fix."""


@dataclass(frozen=True)
class Faults:
    kill: float = 0.0
    duplicate: float = 0.0
    recycle: float = 0.0
    overwrite: int | None = None
    deploy: int | None = None  # publish a new version (a deploy) before this hop
    retries: int = 2

    @classmethod
    def parse(cls, spec: str, default_retries: int = 2) -> Faults:
        """Parse `kill:P,duplicate:P,recycle:P,overwrite:H,deploy:H,retries:N` (any subset, any order)."""
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, raw = item.partition(":")
            name = name.strip().lower()
            if not sep:
                raise FaultSpecError(f"FAULTS item {item!r} must look like name:value")
            if name in values:
                raise FaultSpecError(f"FAULTS names {name!r} twice")
            if name in ("kill", "duplicate", "recycle"):
                try:
                    p = float(raw)
                except ValueError:
                    raise FaultSpecError(f"FAULTS {name}:{raw} needs a probability between 0 and 1") from None
                if not 0.0 <= p <= 1.0:
                    raise FaultSpecError(f"FAULTS {name}:{raw} needs a probability between 0 and 1")
                values[name] = p
            elif name in ("overwrite", "deploy", "retries"):
                try:
                    n = int(raw)
                except ValueError:
                    raise FaultSpecError(f"FAULTS {name}:{raw} needs a whole number >= 0") from None
                if n < 0:
                    raise FaultSpecError(f"FAULTS {name}:{raw} needs a whole number >= 0")
                values[name] = n
            else:
                raise FaultSpecError(
                    f"FAULTS has unknown fault {name!r}; use kill:P, duplicate:P, recycle:P, overwrite:H, "
                    "deploy:H, retries:N"
                )
        return cls(
            kill=float(values.get("kill", 0.0)),
            duplicate=float(values.get("duplicate", 0.0)),
            recycle=float(values.get("recycle", 0.0)),
            overwrite=int(values["overwrite"]) if "overwrite" in values else None,
            deploy=int(values["deploy"]) if "deploy" in values else None,
            retries=int(values.get("retries", default_retries)),
        )

    def describe(self) -> str:
        parts = [
            f"{n}:{v}" for n, v in (("kill", self.kill), ("duplicate", self.duplicate), ("recycle", self.recycle)) if v
        ]
        if self.overwrite is not None:
            parts.append(f"overwrite:{self.overwrite}")
        if self.deploy is not None:
            parts.append(f"deploy:{self.deploy}")
        parts.append(f"retries:{self.retries}")
        return ",".join(parts)


@dataclass(frozen=True)
class InvocationFaults:
    """What happens to one invocation: forced fresh sandbox, and when (if) it is killed."""

    recycle: bool
    kill_after_ms: float | None


class FaultPlan:
    """The seeded dice: one Random, drawn under a lock."""

    def __init__(self, faults: Faults, seed: int | None) -> None:
        self.faults = faults
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def for_invocation(self, timeout_ms: int) -> InvocationFaults:
        with self._lock:
            recycle = self._rng.random() < self.faults.recycle
            killed = self._rng.random() < self.faults.kill
            instant = self._rng.uniform(0.0, timeout_ms)
        return InvocationFaults(recycle=recycle, kill_after_ms=instant if killed else None)

    def duplicate_delay_ms(self, timeout_ms: int) -> float | None:
        """None: deliver once. Else deliver a second copy this many ms later (0 = concurrently)."""
        with self._lock:
            dup = self._rng.random() < self.faults.duplicate
            concurrent = self._rng.random() < 0.5
            delay = self._rng.uniform(0.0, timeout_ms)
        if not dup:
            return None
        return 0.0 if concurrent else delay
