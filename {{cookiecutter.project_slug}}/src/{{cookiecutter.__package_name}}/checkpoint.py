"""The checkpoint: everything hop k needs to continue a run, committed to S3 before hop k starts.

A checkpoint is written once, with `IfNoneMatch='*'`, so when duplicate or retried attempts of
hop k-1 race, the first commit wins and the others learn they lost (412) and stop. The async
payload that starts hop k only *points* at it (key + ETag), which keeps the payload a few hundred
bytes whatever the user's state weighs, and lets a tampered payload be caught rather than trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .inflate import WINDOW, AccessPoint
from .layout import RunLayout, chain_id, check_chain, check_run_id
from .s3util import S3Client, exists, is_missing, is_precondition_failed, put_if_absent
from .state_codec import StateError, check_result, decode_tagged, encode

# The checkpoints this code writes. 2 added the ledger: code that reads only 1 would take a
# checkpoint's own parts for all of them and drop the pages', so it must refuse 2.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)  # 1: every part listed in the checkpoint itself (no 'ledger'), read as no pages
PAYLOAD_VERSION = 1
PAYLOAD_KIND = "recursive-s3-continuation"


class CheckpointError(Exception):
    """A checkpoint or continuation payload cannot be trusted; the run must not guess."""


@dataclass(frozen=True)
class ObjectRef:
    """The object version a run is pinned to."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None


@dataclass(frozen=True)
class Part:
    """One committed output object (or quarantine file) and what it holds; an output part also
    names the staging key its attempt wrote, which the commit's winner copies to `key`."""

    key: str
    items: int
    bytes: int
    staged: str = ""


@dataclass(frozen=True)
class LedgerPage:
    """A page of a chain's ledger (ledger.py): the parts and quarantine files of earlier hops
    (level 0), or earlier pages (level 1 and up), written once under the state prefix; `etag`
    pins its bytes, the counts are of the entries under it."""

    key: str
    etag: str
    level: int
    part_count: int
    quarantine_count: int


@dataclass(frozen=True)
class RangeInfo:
    """Which range of a fan-out run a chain reads: range `index` of `count`, up to the first
    record start at or after `bound`, for the `generation`-th time. `start` is where its records
    begin: None until its first hop has found the line start after the range's own bound (a
    speculation, for CSV), given for range 0 and for a redo (confirmed by the range before)."""

    index: int
    count: int
    bound: int
    generation: int = 0
    start: int | None = None

    @property
    def chain(self) -> str:
        return chain_id(self.index, self.generation)


@dataclass(frozen=True)
class Checkpoint:
    run_id: str
    source: ObjectRef
    hop: int
    offset: int = 0
    line: int = 0
    records: int = 0
    bad_records: int = 0
    output_items: int = 0
    bytes_fetched: int = 0
    invocations: int = 0
    reader_context: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    # The output parts and quarantine files of the hops since the ledger's last page; the pages
    # list those of every earlier hop (ledger.entries gives them all, in order).
    parts: tuple[Part, ...] = ()
    quarantine: tuple[Part, ...] = ()
    ledger: tuple[LedgerPage, ...] = ()
    done: bool = False
    result: dict[str, Any] | None = None
    started_at: float = 0.0
    updated_at: float = 0.0
    last_stop: str = ""
    attempt: str = ""
    stalls: int = 0
    code_version: str = ""  # the function version the run is pinned to ("" = unpublished code)
    # A gzip object's access point: where this hop resumes inflating (offset, line and the records
    # count the decompressed stream). None for an object read as it is.
    gzip: AccessPoint | None = None
    # The range a chain of a fan-out run reads (None: the run's own chain, the whole object).
    range: RangeInfo | None = None
    schema: int = SCHEMA_VERSION

    @property
    def position(self) -> str:
        """Where the run stands, for messages: in the object, or in its decompression."""
        if self.gzip is None:
            return f"byte {self.offset} of {self.source.size}"
        return f"decompressed byte {self.offset} (compressed byte {self.gzip.compressed} of {self.source.size})"

    def to_json(self) -> bytes:
        """The checkpoint as JSON; the user's state through the codec that keeps it exact, the
        result as plain JSON (it goes to the manifest): a StateError says what cannot cross."""
        doc = asdict(replace(self, state={}, gzip=None))  # asdict would deep-copy the state for nothing
        # (the range, a flat dataclass, comes out of asdict as a plain dict)
        doc["state"] = encode(self.state)
        doc["gzip"] = None if self.gzip is None else _point_doc(self.gzip)
        if self.result is not None:
            check_result(self.result, "the result of finish()")
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Checkpoint:
        try:
            doc = json.loads(raw, object_hook=decode_tagged)
        except (ValueError, UnicodeDecodeError, StateError) as exc:
            raise CheckpointError(f"checkpoint {where} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise CheckpointError(f"checkpoint {where} is not a JSON object")
        schema = doc.get("schema")
        # `type(...) is int`: JSON true and 1.0 compare equal to 1 but are not schema version 1.
        if type(schema) is not int or schema not in READABLE_SCHEMAS:
            raise CheckpointError(
                f"checkpoint {where} has schema version {schema!r}; this code reads versions "
                f"{', '.join(map(str, READABLE_SCHEMAS))}. Finish or resume the run with the code that wrote it."
            )
        try:
            src = doc["source"]
            checkpoint = cls(
                run_id=_typed(doc, "run_id", str),
                source=ObjectRef(
                    bucket=_typed(src, "bucket", str),
                    key=_typed(src, "key", str),
                    etag=_typed(src, "etag", str),
                    size=_typed(src, "size", int),
                    version_id=_typed(src, "version_id", (str, type(None))),
                ),
                hop=_typed(doc, "hop", int),
                offset=_typed(doc, "offset", int),
                line=_typed(doc, "line", int),
                records=_typed(doc, "records", int),
                bad_records=_typed(doc, "bad_records", int),
                output_items=_typed(doc, "output_items", int),
                bytes_fetched=_typed(doc, "bytes_fetched", int),
                invocations=_typed(doc, "invocations", int),
                reader_context=_typed(doc, "reader_context", dict),
                state=_typed(doc, "state", dict),
                parts=tuple(part_from_doc(p) for p in _typed(doc, "parts", list)),
                quarantine=tuple(part_from_doc(p) for p in _typed(doc, "quarantine", list)),
                ledger=tuple(page_from_doc(p) for p in _ledger_doc(doc, schema)),
                done=_typed(doc, "done", bool),
                result=_typed(doc, "result", (dict, type(None))),
                started_at=float(_typed(doc, "started_at", (int, float))),
                updated_at=float(_typed(doc, "updated_at", (int, float))),
                last_stop=_typed(doc, "last_stop", str),
                attempt=_typed(doc, "attempt", str),
                stalls=_typed(doc, "stalls", int),
                code_version=_typed({"code_version": "", **doc}, "code_version", str),  # older runs: unpinned
                gzip=_point(_typed({"gzip": None, **doc}, "gzip", (dict, type(None)))),
                range=_range(_typed({"range": None, **doc}, "range", (dict, type(None)))),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {where} is malformed: {exc}") from None
        bound = checkpoint.source.size if checkpoint.gzip is None else checkpoint.offset
        if checkpoint.hop < 0 or not 0 <= checkpoint.offset <= bound:
            raise CheckpointError(
                f"checkpoint {where}: hop {checkpoint.hop} / offset {checkpoint.offset} out of range "
                f"for an object of {checkpoint.source.size} bytes"
            )
        return checkpoint

    def advance(self, **changes: Any) -> Checkpoint:
        """The checkpoint for the next hop."""
        return replace(self, hop=self.hop + 1, updated_at=time.time(), **changes)


def _typed(doc: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = doc[name]
    # bool is an int in Python; a checkpoint saying "offset": true is corrupt, not 1.
    if isinstance(value, bool) and kind is not bool and not (isinstance(kind, tuple) and bool in kind):
        raise TypeError(f"{name!r} must be {kind}, got a boolean")
    if not isinstance(value, kind):
        raise TypeError(f"{name!r} must be {kind}, got {type(value).__name__}")
    return value


def _ledger_doc(doc: dict[str, Any], schema: int) -> list[Any]:
    """Schema 2 lists its ledger's pages (none is []); schema 1 had no ledger: a checkpoint that
    claims otherwise is not one this code wrote, and guessing would lose or invent parts."""
    if schema == 1:
        if "ledger" in doc:
            raise ValueError("a schema 1 checkpoint has no 'ledger'")
        return []
    ledger: list[Any] = _typed(doc, "ledger", list)
    return ledger


def _point_doc(point: AccessPoint) -> dict[str, Any]:
    return {**asdict(replace(point, window=b"")), "window": base64.b64encode(point.window).decode()}


def _point(doc: dict[str, Any] | None) -> AccessPoint | None:
    if doc is None:
        return None
    try:
        window = base64.b64decode(_typed(doc, "window", str), validate=True)
    except binascii.Error:
        raise ValueError("'window' is not base64") from None
    point = AccessPoint(
        compressed=_typed(doc, "compressed", int),
        bits=_typed(doc, "bits", int),
        decompressed=_typed(doc, "decompressed", int),
        window=window,
        member_crc=_typed(doc, "member_crc", int),
        member_size=_typed(doc, "member_size", int),
        in_member=_typed(doc, "in_member", bool),
    )
    if not (0 <= point.bits < 8 and point.compressed >= 0 and len(window) <= WINDOW and point.member_size >= 0):
        raise ValueError(f"the gzip access point is out of range: {point.compressed}/{point.bits}")
    return point


def _range(doc: dict[str, Any] | None) -> RangeInfo | None:
    if doc is None:
        return None
    info = RangeInfo(
        index=_typed(doc, "index", int),
        count=_typed(doc, "count", int),
        bound=_typed(doc, "bound", int),
        generation=_typed(doc, "generation", int),
        start=_typed(doc, "start", (int, type(None))),
    )
    if not (0 <= info.index < info.count and info.generation >= 0 and info.bound >= 0):
        raise ValueError(f"range {info.index} of {info.count} (generation {info.generation}) is out of range")
    return info


def part_from_doc(doc: Any) -> Part:
    """A Part read from a checkpoint or a ledger page (TypeError, KeyError: not one)."""
    if not isinstance(doc, dict):
        raise TypeError("a part must be an object")
    return Part(
        key=_typed(doc, "key", str),
        items=_typed(doc, "items", int),
        bytes=_typed(doc, "bytes", int),
        staged=_typed(doc, "staged", str),
    )


def page_from_doc(doc: Any) -> LedgerPage:
    """A LedgerPage read from a checkpoint or a page of a higher level (TypeError, KeyError: not one)."""
    if not isinstance(doc, dict):
        raise TypeError("a ledger page must be an object")
    page = LedgerPage(
        key=_typed(doc, "key", str),
        etag=_typed(doc, "etag", str),
        level=_typed(doc, "level", int),
        part_count=_typed(doc, "part_count", int),
        quarantine_count=_typed(doc, "quarantine_count", int),
    )
    if min(page.level, page.part_count, page.quarantine_count) < 0:
        raise ValueError(
            f"ledger page {page.key}: level {page.level}, counts {page.part_count}/{page.quarantine_count}"
        )
    return page


@dataclass(frozen=True)
class Pointer:
    """The continuation payload: which committed checkpoint the next hop starts from."""

    bucket: str
    run_id: str
    hop: int
    key: str
    etag: str
    chain: str = ""  # a range chain of a fan-out run ("": the run's own)

    def to_event(self) -> dict[str, Any]:
        doc = asdict(self)
        if not self.chain:
            del doc["chain"]
        return {"kind": PAYLOAD_KIND, "v": PAYLOAD_VERSION, **doc}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Pointer:
        if type(event.get("v")) is not int or event.get("v") != PAYLOAD_VERSION:
            raise CheckpointError(
                f"continuation payload version {event.get('v')!r} is not {PAYLOAD_VERSION}; "
                "it was sent by other code or has been altered"
            )
        try:
            pointer = cls(
                bucket=_typed(event, "bucket", str),
                run_id=check_run_id(_typed(event, "run_id", str)),
                hop=_typed(event, "hop", int),
                key=_typed(event, "key", str),
                etag=_typed(event, "etag", str),
                chain=check_chain(event.get("chain", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"continuation payload is malformed: {exc}") from None
        return pointer


class CheckpointStore:
    """Reads and conditionally commits one run's checkpoints."""

    def __init__(self, s3: S3Client, bucket: str, layout: RunLayout) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.layout = layout

    def of_chain(self, chain: str) -> CheckpointStore:
        """The store of another chain of the same run."""
        return CheckpointStore(self.s3, self.bucket, self.layout.of_chain(chain))

    def commit(self, checkpoint: Checkpoint) -> Pointer | None:
        """Write the checkpoint unless one exists for that hop; None means another attempt won."""
        key = self.layout.checkpoint(checkpoint.hop)
        etag = put_if_absent(self.s3, self.bucket, key, checkpoint.to_json(), "application/json")
        if etag is None:
            return None
        return Pointer(self.bucket, checkpoint.run_id, checkpoint.hop, key, etag, self.layout.chain)

    def load(self, pointer: Pointer) -> Checkpoint:
        """Load exactly the checkpoint the payload points at, or refuse."""
        expected = self.layout.checkpoint(pointer.hop)
        if pointer.key != expected or pointer.bucket != self.bucket:
            raise CheckpointError(
                f"continuation payload points at s3://{pointer.bucket}/{pointer.key}, but hop "
                f"{pointer.hop} of run {pointer.run_id} lives at s3://{self.bucket}/{expected}"
            )
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=expected, IfMatch=pointer.etag)
        except Exception as exc:
            if is_precondition_failed(exc):
                raise CheckpointError(
                    f"checkpoint s3://{self.bucket}/{expected} is not the one the payload points at "
                    f"(ETag {pointer.etag}); it was replaced or the payload was altered"
                ) from None
            if is_missing(exc):
                raise CheckpointError(
                    f"checkpoint s3://{self.bucket}/{expected} does not exist (expired by the "
                    "lifecycle rule, deleted, or the payload is forged)"
                ) from None
            raise
        checkpoint = Checkpoint.from_json(resp["Body"].read(), f"s3://{self.bucket}/{expected}")
        if checkpoint.run_id != pointer.run_id or checkpoint.hop != pointer.hop:
            raise CheckpointError(
                f"checkpoint s3://{self.bucket}/{expected} holds run {checkpoint.run_id} hop "
                f"{checkpoint.hop}, not run {pointer.run_id} hop {pointer.hop}"
            )
        return checkpoint

    def next_of(self, hop: int) -> tuple[tuple[Checkpoint, Pointer] | None, bool]:
        """What follows committed hop `hop`, in one listing: hop+1's checkpoint if an attempt
        committed it (this one is a duplicate or a retry), and whether the run has ended (its
        outcome record sorts after every checkpoint)."""
        resp = self.s3.list_objects_v2(
            Bucket=self.bucket, Prefix=self.layout.checkpoint(0).rsplit("/", 1)[0] + "/",
            StartAfter=self.layout.checkpoint(hop), MaxKeys=2,
        )  # fmt: skip
        keys = [obj["Key"] for obj in resp.get("Contents", [])]
        found = self._get(hop + 1) if self.layout.checkpoint(hop + 1) in keys else None
        return found, self.layout.outcome() in keys

    def find(self, hop: int) -> tuple[Checkpoint, Pointer] | None:
        """The committed checkpoint of `hop`, if any."""
        key = self.layout.checkpoint(hop)
        if not exists(self.s3, self.bucket, key):
            return None
        return self._get(hop)

    def _get(self, hop: int) -> tuple[Checkpoint, Pointer]:
        key = self.layout.checkpoint(hop)
        resp = self.s3.get_object(Bucket=self.bucket, Key=key)
        checkpoint = Checkpoint.from_json(resp["Body"].read(), f"s3://{self.bucket}/{key}")
        return checkpoint, Pointer(self.bucket, checkpoint.run_id, hop, key, resp["ETag"], self.layout.chain)

    def latest(self) -> tuple[Checkpoint, Pointer] | None:
        """The newest committed checkpoint of the run (for status and resume)."""
        prefix = self.layout.checkpoint(0).rsplit("/", 1)[0] + "/"
        last_key = None
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"] != self.layout.outcome():
                    last_key = obj["Key"]
        if last_key is None:
            return None
        hop = int(last_key.rsplit("/", 1)[1].split(".")[0])
        return self.find(hop)
