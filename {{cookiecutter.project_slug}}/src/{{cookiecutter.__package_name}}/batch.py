"""What a record reader hands the handler: a batch of whole records, its bad records, and where it ends."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Asked by readers deep inside a batch before pulling more bytes: True when the hop must stop now.
DeadlineCheck = Callable[[], bool]


class InputFormatError(Exception):
    """The object is not in the chosen mode's format at all (e.g. gzip uploaded to a CSV processor)."""


class RecordTooLargeError(Exception):
    """A record is larger than MAX_RECORD_BYTES and cannot be framed or skipped safely."""


@dataclass(frozen=True)
class BadRecord:
    """A record that never reaches process_batch; quarantined with enough to find and fix it."""

    line: int
    offset: int
    length: int
    reason: str
    raw: bytes

    def to_doc(self, raw_limit: int) -> dict[str, Any]:
        raw = self.raw[:raw_limit]
        return {
            "line": self.line,
            "offset": self.offset,
            "length": self.length,
            "reason": self.reason,
            "raw_base64": base64.b64encode(raw).decode(),
            "raw_truncated": len(raw) < self.length,
        }


@dataclass
class Batch:
    records: list[Any] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    offset: int = 0
    line: int = 0
    eof: bool = False
