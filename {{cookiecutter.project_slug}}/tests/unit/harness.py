"""In-process harness for the unit tests: moto S3, a fake Lambda context and a fake Lambda client.

The fake context's clock counts calls, not milliseconds: its first `calls` answers to
get_remaining_time_in_millis() are "plenty of time", every later one is 0. So where a hop stops is
decided by the test (and is repeatable), never by how fast this machine is.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import quote_plus

from moto import mock_aws

from devtools import passthrough
from devtools.run_report import committed_output

from {{ cookiecutter.__package_name }} import handler, ledger
from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.s3util import s3_client

BUCKET = "test-bucket"
REGION = "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:processor"
PLENTY_MS = 900_000

LEDGER_PAGE_ENTRIES = 3
_AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
}
# Anything that would send boto3 somewhere other than moto's in-process mock.
_AWS_ENV_DROP = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_LAMBDA", "AWS_PROFILE")


class FakeContext:
    """A Lambda context whose time runs out after `calls` questions (None: never)."""

    def __init__(self, calls: int | None = None, request_id: str = "req-0") -> None:
        self.calls = calls
        self.asked = 0
        self.aws_request_id = request_id
        self.invoked_function_arn = FUNCTION_ARN
        self.function_name = "processor"

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        if self.calls is None or self.asked <= self.calls:
            return PLENTY_MS
        return 0


class InjectedCrash(Exception):
    """A simulated failure (the process died, the network broke) injected by a test."""


@dataclass
class FakeLambda:
    """Captures async self-invocations instead of running them; can be told to fail."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail: Callable[[int], str | None] = lambda n: None  # call number -> None | "before" | "after"

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        how = self.fail(len(self.calls))
        if how == "before":
            raise InjectedCrash(f"invoke #{len(self.calls)} failed before it was delivered")
        self.payloads.append(json.loads(kwargs["Payload"]))
        if how == "after":
            raise InjectedCrash(f"invoke #{len(self.calls)} was delivered but its response was lost")
        return {"StatusCode": 202}


def make_config(cache_dir: str, **changes: Any) -> Config:
    """The configuration the unit tests start from (production defaults, a private cache dir)."""
    base = Config(input_prefix="incoming/", input_suffix="", cache_dir=cache_dir)
    return dataclasses.replace(base, **changes)


@dataclass
class Outcome:
    """What a finished run committed, minus what legitimately differs between chains (timing, hops)."""

    status: str
    records: int
    bad_records: int
    output_items: int
    result: Any
    output: bytes
    bad: list[dict[str, Any]]
    hops: int


def as_plain(out: Outcome) -> Outcome:
    """A gzip run's outcome as a run over its decompressed bytes would commit it: its quarantined
    records also note where their hop began in the compressed object (checked here), and hop
    counts legitimately differ."""
    assert all(isinstance(b.get("hop_compressed_offset"), int) for b in out.bad), out.bad
    bad = [{k: v for k, v in b.items() if k != "hop_compressed_offset"} for b in out.bad]
    return dataclasses.replace(out, bad=bad, hops=0)


class RecordingS3:
    """Delegates to the real (moto) client and records every get_object call's parameters."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.gets: list[dict[str, Any]] = []

    def get_object(self, **kwargs: Any) -> Any:
        self.gets.append(kwargs)
        return self.s3.get_object(**kwargs)

    def head_object(self, **kwargs: Any) -> Any:
        return self.s3.head_object(**kwargs)


class Harness:
    """The function under test (`fn`: its configuration, cache, clients and process.py, injected),
    moto's S3 and a fake Lambda that captures the self-invocations."""

    def __init__(self, s3: Any, lam: FakeLambda, fn: handler.Function) -> None:
        self.s3 = s3
        self.lam = lam
        self.fn = fn

    @property
    def cfg(self) -> Config:
        return self.fn.config

    def configure(self, **changes: Any) -> Config:
        """Change the function's configuration for the rest of the test (a new container runs it)."""
        self.fn = handler.Function.from_config(
            dataclasses.replace(self.fn.config, **changes), s3=self.fn.s3, lam=self.fn.lam, process=self.fn.process
        )
        return self.cfg

    def cache_clear(self) -> None:
        """Run on in a fresh container: no cached bytes, no publish rate measured, no hop run yet."""
        self.fn = self.fn.recycled()

    @contextmanager
    def using(self, **deps: Any) -> Iterator[None]:
        """Give the function other dependencies for a block (`s3=lambda: failing_client`, `process=...`)."""
        saved = {name: getattr(self.fn, name) for name in deps}
        for name, value in deps.items():
            setattr(self.fn, name, value)
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(self.fn, name, value)

    def put_input(self, body: bytes, key: str = "incoming/data file.in") -> dict[str, Any]:
        """Upload `body` and return the S3 ObjectCreated event announcing it (key URL-encoded)."""
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        head = self.s3.head_object(Bucket=BUCKET, Key=key)
        return s3_event(BUCKET, key, head["ETag"], head["ContentLength"])

    def invoke(self, event: dict[str, Any], calls: int | None = None, request_id: str = "req") -> dict[str, Any]:
        result: dict[str, Any] = handler.make_handler(self.fn)(event, FakeContext(calls, request_id))
        return result

    def drive(
        self,
        event: dict[str, Any],
        budget: Callable[[], int | None] = lambda: None,
        max_invocations: int = 10_000,
        retries: int = 2,
    ) -> str:
        """Run a chain to its end: the S3 event, then every captured self-invocation in order.

        A hop that makes no progress gets twice the call budget next time (as a real hop would
        after a slow cold start), so any budget >= 1 ends. An invocation that raises is retried
        (as Lambda retries async events) up to `retries` times. Returns the run id.
        """
        queue: list[dict[str, Any]] = [event]
        run_id = ""
        last_offset: dict[str, int] = {}  # per chain (a fan-out run's ranges interleave)
        factors: dict[str, int] = {}
        n = 0
        while queue:
            ev = queue.pop(0)
            chain = str(ev.get("chain", ""))
            factor = factors.get(chain, 1)
            for attempt in range(retries + 1):
                n += 1
                assert n <= max_invocations, "the chain did not end"
                calls = budget()
                before = len(self.lam.payloads)
                try:
                    res = self.invoke(ev, None if calls is None else calls * factor, f"req-{n}")
                except InjectedCrash:
                    if attempt == retries:
                        raise
                    continue
                finally:
                    queue.extend(self.lam.payloads[before:])
                if "runs" in res:
                    res = res["runs"][0]
                run_id = res.get("run_id", run_id)
                if res.get("status") == "continued":
                    factors[chain] = factor * 2 if res["offset"] == last_offset.get(chain) else 1
                    last_offset[chain] = res["offset"]
                break
        return run_id

    def outcome(self, run_id: str) -> Outcome:
        key = f"{self.cfg.output_prefix}{run_id}/manifest.json"
        manifest = json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        # Only committed output is ever visible: the manifest and the parts it lists, nothing else.
        visible = set(self.list_keys(f"{self.cfg.output_prefix}{run_id}/"))
        assert visible == {key} | {p["key"] for p in manifest["parts"]}, "uncommitted objects under the output prefix"
        output = b"".join(committed_output(self.s3, BUCKET, run_id, self.cfg))
        bad: list[dict[str, Any]] = []
        for part in manifest["quarantine"]:
            body = self.s3.get_object(Bucket=BUCKET, Key=part["key"])["Body"].read()
            bad.extend(json.loads(line) for line in body.splitlines())
        return Outcome(
            status=manifest["status"],
            records=manifest["records"],
            bad_records=manifest["bad_records"],
            output_items=manifest["output_items"],
            result=manifest["result"],
            output=output,
            bad=bad,
            hops=manifest["hops"],
        )

    def list_keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def s3_event(bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": quote_plus(key), "size": size, "eTag": etag.strip('"')},
                },
            }
        ]
    }


_clients: dict[str, Any] = {}


def _s3() -> Any:
    """One S3 client for the whole session, configured like production's (creating one costs ~0.1 s)."""
    if "s3" not in _clients:
        _clients["s3"] = s3_client.__wrapped__()  # type: ignore[attr-defined]
    return _clients["s3"]


@contextmanager
def aws(cfg: Config, process: Any = passthrough) -> Iterator[Harness]:
    """moto S3 with the test bucket; the handler wired to `cfg`, an empty cache, a fake Lambda and
    `process` as its process.py: the framework's own (devtools.passthrough) unless a test names the
    user's, so framework tests pass whatever the user writes in process.py. The ledger pages every
    LEDGER_PAGE_ENTRIES entries (64 deployed), so these chains of tens of hops write pages, pages
    of pages and pages of those, and every kill, retry and duplicate test crosses them."""
    with mock.patch.dict(os.environ, _AWS_ENV), mock.patch.object(ledger, "PAGE_ENTRIES", LEDGER_PAGE_ENTRIES):
        for name in _AWS_ENV_DROP:
            os.environ.pop(name, None)
        with mock_aws():
            s3 = _s3()
            s3.create_bucket(Bucket=BUCKET)
            lam = FakeLambda()
            yield Harness(s3, lam, handler.Function.from_config(cfg, s3=_s3, lam=lambda: lam, process=process))


def raw_of(doc: dict[str, Any]) -> bytes:
    return base64.b64decode(doc["raw_base64"])


@dataclass
class ReadResult:
    """Everything a reader produced over a whole input, and where each batch ended."""

    records: list[Any]
    bad: list[Any]
    # After each batch: (offset, line, reader context, records so far, bad records so far).
    boundaries: list[tuple[int, int, dict[str, Any], int, int]]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def read_all(
    data: bytes,
    cfg: Config,
    *,
    chunk: int = 7,
    batch: int = 3,
    offset: int = 0,
    line: int = 0,
    context: dict[str, Any] | None = None,
    bound: int | None = None,
) -> ReadResult:
    """Read `data[offset:]` with the mode's RecordReader, fed in chunks of `chunk` bytes; with a
    `bound`, as the range that ends there (ranges.BoundedChunks) reads it."""
    from {{ cookiecutter.__package_name }}.records import RecordReader

    reader = RecordReader(chunked(data[offset:], chunk), offset, line, dict(context or {}), cfg, bound)
    out = ReadResult([], [], [])
    for _ in range(len(data) + 10):
        b = reader.read_batch(batch, lambda: False)
        out.records.extend(b.records)
        out.bad.extend(b.bad)
        out.boundaries.append((b.offset, b.line, dict(reader.context), len(out.records), len(out.bad)))
        if b.eof:
            return out
    raise AssertionError("the reader never reached the end")


@dataclass
class FanOut:
    """What a fan-out over some bounds read, range by range, once settled."""

    records: list[Any]
    bad: list[Any]
    redone: int  # ranges read again because their speculated start was wrong
    ends: list[int]  # where each accepted range stopped


def fan_out(data: bytes, cfg: Config, bounds: list[int], context: dict[str, Any], **kw: int) -> FanOut:
    """Read `data` as len(bounds) - 1 ranges do: range 0 from 0, range i from where the mode
    guesses its first record begins after bounds[i] (given the planner's reader `context`), each
    to its limit; then settle them in order, redoing a range from its predecessor's end until
    every start is confirmed."""
    from {{ cookiecutter.__package_name }}.ranges import RangeEnd, settle
    from {{ cookiecutter.__package_name }}.records import speculate_start

    count = len(bounds) - 1
    reads: dict[tuple[int, int], ReadResult] = {}
    latest: dict[int, tuple[int, RangeEnd | None]] = {}

    def read_range(index: int, generation: int, start: int) -> None:
        ctx = {} if index == 0 else context
        res = read_all(data, cfg, offset=start, context=ctx, bound=bounds[index + 1], **kw)
        reads[(index, generation)] = res
        latest[index] = (generation, RangeEnd(index, generation, start, res.boundaries[-1][0]))

    for index in range(count):
        start = 0
        if index > 0:
            start, _ = speculate_start(lambda at: chunked(data[at:], kw.get("chunk", 7)), bounds[index], context)
        read_range(index, 0, start)
    redone = 0
    while not (settled := settle(count, latest)).complete:
        assert settled.redo is not None, "settle waits for nothing: every range has finished"
        read_range(*settled.redo)
        redone += 1
    accepted = [reads[(a.index, a.generation)] for a in settled.accepted]
    return FanOut(
        [r for res in accepted for r in res.records],
        [b for res in accepted for b in res.bad],
        redone,
        [a.end for a in settled.accepted],
    )


def assert_resumable(data: bytes, cfg: Config, full: ReadResult, chunk: int = 7, batch: int = 3) -> None:
    """A fresh reader started at any batch boundary, with the saved context, reads the same rest."""
    for offset, line, context, n_records, n_bad in full.boundaries:
        rest = read_all(data, cfg, chunk=chunk, batch=batch, offset=offset, line=line, context=context)
        assert rest.records == full.records[n_records:], f"resuming at byte {offset}"
        assert rest.bad == full.bad[n_bad:], f"resuming at byte {offset}"


class FlakyS3:
    """The S3 client, except that put_object can be made to fail at chosen calls.

    `fail(n, key)` is asked before the n-th put_object or copy_object (1-based) and answers None (go ahead),
    "before" (raise without writing: the process died first) or "after" (write, then raise: the
    process died, or the response was lost, once S3 had the object).
    """

    def __init__(self, s3: Any, fail: Callable[[int, str], str | None]) -> None:
        self._s3 = s3
        self._fail = fail
        self.puts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def _write(self, op: str, kwargs: dict[str, Any]) -> Any:
        self.puts.append(kwargs["Key"])
        how = self._fail(len(self.puts), kwargs["Key"])
        if how == "before":
            raise InjectedCrash(f"{op} #{len(self.puts)} ({kwargs['Key']}) failed before writing")
        resp = getattr(self._s3, op)(**kwargs)
        if how == "after":
            raise InjectedCrash(f"{op} #{len(self.puts)} ({kwargs['Key']}) wrote, then the hop died")
        return resp

    def put_object(self, **kwargs: Any) -> Any:
        return self._write("put_object", kwargs)

    def copy_object(self, **kwargs: Any) -> Any:
        return self._write("copy_object", kwargs)


def sample_body(mode: str, n: int = 24) -> bytes:
    """An input of the project's mode with a few of its edge cases (and bad records where it has them)."""
{%- if cookiecutter.processing_mode == "csv" %}
    rows = ["id,name,note\r\n"]
    for i in range(n):
        if i % 17 == 5:
            rows.append(f"{i},ragged\r\n")
        elif i % 13 == 7:
            rows.append("\r\n")
        else:
            rows.append(f'{i},"n{i}, é","multi\nline ""q"" {"€" * (i % 4)}"\r\n')
    return "".join(rows).encode()
{%- elif cookiecutter.processing_mode == "jsonl" %}
    lines = []
    for i in range(n):
        if i % 17 == 5:
            lines.append("{not json")
        elif i % 13 == 7:
            lines.append("   ")
        else:
            lines.append(json.dumps({"i": i, "level": ["info", "warn"][i % 2], "s": "é€" * (i % 5)}))
    return ("\n".join(lines)).encode()  # no final newline
{%- else %}
    return bytes((i * 7 + i // 256) % 256 for i in range(n * 23 + 5))
{%- endif %}


def hops_versus_single_pass(
    body: bytes, budgets: list[int], process: Any = None, **changes: Any
) -> tuple[Outcome, Outcome]:
    """The same object through the real handler twice, with `process` (default: the identity
    process.py): once in hops whose call budgets cycle through `budgets`, once in a single hop.
    Returns (hops, single)."""
    import tempfile

    outcomes = []
    for plan in (budgets, []):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = make_config(tmp, max_stalls=1000, max_hops=100_000, **changes)
            with aws(cfg, process if process is not None else passthrough) as h:
                turn = iter(range(10**9))

                def budget(plan: list[int] = plan, turn: Iterator[int] = turn) -> int | None:
                    return plan[next(turn) % len(plan)] if plan else None

                outcomes.append(h.outcome(h.drive(h.put_input(body), budget)))
    return outcomes[0], outcomes[1]
