"""Reliability tests (issue 6): faults at every step of a hop, bad input, changed objects, resume.

In-process pieces reuse the unit tests' harness (moto S3, fake context, captured invokes) and add:
a driver that plays Lambda's async delivery (retries, duplicates, recycled containers), proxies
that crash the handler before or after any S3 or Lambda call, and HTTP-level faults (500/503
answers injected with botocore's `before-send` event, which botocore's retries must absorb).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

# Import the handler once with a valid configuration (as tests/unit/conftest.py does), so this
# folder also runs on its own.
with mock.patch.dict(
    os.environ,
    {
        "INPUT_PREFIX": "incoming/",
        "INPUT_SUFFIX": "",
        "CACHE_DIR": tempfile.mkdtemp(prefix="rel-cache-"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    },
):
    from {{ cookiecutter.__package_name }} import handler  # noqa: F401

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from devtools.soak import CHAIN_ENV, Generated, generate
from tests.unit.harness import BUCKET, Harness, InjectedCrash, Outcome, aws, make_config, raw_of, s3_event

from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.records import MODE

__all__ = [
    "BUCKET", "MODE", "Chain", "FaultPlan", "Harness", "InjectedCrash", "Outcome",
    "failed_run", "finished_run", "http_faults", "keys", "raw_of", "s3_event", "sample",
]  # fmt: skip


def small_config(cache_dir: str, **changes: Any) -> Config:
    """Production defaults with small batches and chunks, so small inputs take several hops."""
    base = make_config(
        cache_dir,
        first_batch_records=4,
        max_batch_records=16,
        read_chunk_bytes=4096,
        bytes_chunk_size=int(CHAIN_ENV["BYTES_CHUNK_SIZE"]),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return small_config(str(tmp_path / "cache"))


@pytest.fixture
def h(cfg: Config) -> Iterator[Harness]:
    with aws(cfg) as harness:
        yield harness


def sample(n: int = 60, version: str = "A", seed: int = 5) -> Generated:
    """An input of this project's mode whose good records carry unique ids (see devtools.soak)."""
    return generate(MODE, n, version, seed)


def keys(h: Harness, prefix: str = "") -> list[str]:
    pages = h.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def _key(data: bytes) -> str:
    import hashlib

    return f"incoming/input {hashlib.sha256(data).hexdigest()[:12]}"


def finished_run(h: Harness, data: bytes, budget: int | None = 12) -> Outcome:
    """Run `data` as a whole chain that must succeed; what it committed."""
    chain = Chain(h, budget=budget).run(h.put_input(data, _key(data)))
    assert not chain.failed, [d.errors for d in chain.failed]
    return h.outcome(chain.run_id())


def failed_run(h: Harness, data: bytes, budget: int | None = 12) -> dict[str, Any]:
    """Run `data` as a chain that must fail; its run_status (state failed, with the error)."""
    from devtools.run_report import run_status

    from {{ cookiecutter.__package_name }}.layout import run_id_for

    event = h.put_input(data, _key(data))
    obj = event["Records"][0]["s3"]["object"]
    chain = Chain(h, budget=budget).run(event)
    assert chain.failed, "the run was expected to fail"
    run_id = run_id_for(BUCKET, _key(data), obj["eTag"], None)
    status = run_status(h.s3, BUCKET, run_id, h.cfg)
    assert status["state"] == "failed", status
    errors = [type(e).__name__ for e in chain.failed[-1].errors]
    assert errors[0] == status["error_type"], "the invocation failed with it"
    assert set(errors[1:]) <= {"RunEndedError", status["error_type"]}, "its retries stopped at the recorded failure"
    assert keys(h, f"{h.cfg.output_prefix}{run_id}/manifest.json") == [], "a failed run commits no final output"
    return status


# -- crashing proxies ---------------------------------------------------------------------------
def site_of(op: str, key: str) -> str:
    """A readable name for the step an S3 call belongs to."""
    for part, name in (
        ("outcome.json", "outcome"),
        ("/checkpoints/", "checkpoint"),
        ("/launched/", "launched"),
        ("/ledger/", "ledger"),
        ("/quarantine/", "quarantine"),
        ("/staging/", "part"),
        ("/parts/", "publish"),
        ("manifest.json", "manifest"),
    ):
        if part in key:
            return f"{op}:{name}"
    return f"{op}:input"


@dataclass
class FaultPlan:
    """Crash at global call number `at` (counting S3 and Lambda calls), `how` = before | after."""

    at: int | None = None
    how: str = "before"
    only: Callable[[str], bool] | None = None  # or: crash at every call to a matching site
    hook: Callable[[str, dict[str, Any]], None] | None = None  # called before each call
    calls: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)

    def around(self, site: str, kwargs: dict[str, Any], call: Callable[[], Any]) -> Any:
        n = len(self.calls)
        self.calls.append(site)
        if self.hook is not None:
            self.hook(site, kwargs)
        hit = (self.at == n) or (self.only is not None and self.only(site))
        if hit and self.how == "before":
            self.fired.append(site)
            raise InjectedCrash(f"killed before {site} (call {n})")
        if not (hit and self.how == "after"):
            return call()
        self.fired.append(site)
        with contextlib.suppress(Exception):
            call()  # a 404 or 412 answer counts as done too: the process dies once it has it
        raise InjectedCrash(f"killed after {site} (call {n})")


class CrashingS3:
    """The real (moto) client, with a FaultPlan around the calls the handler makes."""

    def __init__(self, real: Any, plan: FaultPlan) -> None:
        self._real = real
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _wrap(self, op: str, kwargs: dict[str, Any]) -> Any:
        site = site_of(op.split("_")[0], kwargs.get("Key", ""))
        return self._plan.around(site, kwargs, lambda: getattr(self._real, op)(**kwargs))

    def put_object(self, **kwargs: Any) -> Any:
        return self._wrap("put_object", kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        return self._wrap("get_object", kwargs)

    def head_object(self, **kwargs: Any) -> Any:
        return self._wrap("head_object", kwargs)

    def delete_object(self, **kwargs: Any) -> Any:
        return self._wrap("delete_object", kwargs)


class CrashingLambda:
    def __init__(self, real: Any, plan: FaultPlan) -> None:
        self._real = real
        self._plan = plan

    def invoke(self, **kwargs: Any) -> Any:
        return self._plan.around("invoke", kwargs, lambda: self._real.invoke(**kwargs))


# -- Lambda's async delivery, in process ----------------------------------------------------------
@dataclass
class Delivery:
    event: dict[str, Any]
    attempts: int = 0
    results: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


class Chain:
    """Delivers a run's events like Lambda: each async event is retried `retries` times when it
    fails, may be delivered twice, and may land on a recycled container (empty cache).

    `budget` is the fake context's call budget per invocation (see harness.FakeContext).
    """

    def __init__(self, h: Harness, plan: FaultPlan | None = None, budget: int | None = 3, retries: int = 2) -> None:
        self.h = h
        self.plan = plan or FaultPlan()
        self.budget = budget
        self.retries = retries
        self.recycle_on_retry = True
        self._factor = 1
        self._last_offset: Any = None
        self.duplicate: Callable[[int], bool] = lambda n: False  # delivery number -> deliver twice
        self.before_delivery: Callable[[dict[str, Any]], None] = lambda event: None
        self.deliveries: list[Delivery] = []
        self.failed: list[Delivery] = []  # retries exhausted (what lands in the on-failure queue)

    @contextmanager
    def wired(self) -> Iterator[None]:
        s3 = CrashingS3(self.h.s3, self.plan)
        lam = CrashingLambda(self.h.lam, self.plan)
        with self.h.using(s3=lambda: s3, lam=lambda: lam):
            yield

    def recycle(self) -> None:
        """A fresh container: the cache is gone."""
        self.h.cache_clear()

    def invoke_once(self, event: dict[str, Any], request_id: str = "req") -> Any:
        budget = None if self.budget is None else self.budget * self._factor
        with self.wired():
            result = self.h.invoke(event, budget, request_id)
        # A hop that made no progress gets twice the budget next time, as a real hop would after a
        # slow cold start (harness.drive does the same): the call budget is not milliseconds.
        if isinstance(result, dict) and result.get("status") == "continued":
            self._factor = self._factor * 2 if result.get("offset") == self._last_offset else 1
            self._last_offset = result.get("offset")
        return result

    def deliver(self, event: dict[str, Any]) -> Delivery:
        """One async event: first attempt plus retries while it fails; new self-invocations are queued."""
        self.before_delivery(event)
        d = Delivery(event)
        self.deliveries.append(d)
        for attempt in range(self.retries + 1):
            d.attempts += 1
            if attempt and self.recycle_on_retry:
                self.recycle()
            try:
                d.results.append(self.invoke_once(event, f"req-{len(self.deliveries)}-{attempt}"))
                return d
            except Exception as exc:
                d.errors.append(exc)
        self.failed.append(d)
        return d

    def run(self, event: dict[str, Any], max_deliveries: int = 5000) -> Chain:
        """Deliver `event` and every self-invocation it causes, in order, until none is left."""
        queue = [event]
        seen = len(self.h.lam.payloads)
        while queue:
            ev = queue.pop(0)
            copies = 2 if self.duplicate(len(self.deliveries)) else 1
            for _ in range(copies):
                self.deliver(ev)
                assert len(self.deliveries) <= max_deliveries, "the chain did not end"
            queue.extend(self.h.lam.payloads[seen:])
            seen = len(self.h.lam.payloads)
        return self

    def run_id(self) -> str:
        for d in self.deliveries:
            for res in d.results:
                if "runs" in res:
                    res = res["runs"][0]
                if res.get("run_id"):
                    return str(res["run_id"])
        raise AssertionError("no delivery returned a run id")


# -- HTTP-level faults ------------------------------------------------------------------------------
class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *args: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def error_response(url: str, status: int) -> AWSResponse:
    code = {500: "InternalError", 503: "SlowDown"}.get(status, "InternalError")
    body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>injected {status}</Message></Error>"
    return AWSResponse(url, status, {"Content-Type": "application/xml"}, _RawBody(body.encode()))  # type: ignore[arg-type]


@dataclass
class HttpFaults:
    """Counts the requests seen for the operation and how many were answered with an error."""

    seen: int = 0
    injected: int = 0


@contextmanager
def http_faults(
    client: Any, operation: str, statuses: Callable[[int, dict[str, Any]], int | str | None]
) -> Iterator[HttpFaults]:
    """Answer requests of `operation` (e.g. "PutObject") with an HTTP error before they are sent.

    `statuses(n, request_params)` gives the answer for the n-th request (0-based): an HTTP status,
    "drop" (the connection fails before the request reaches S3), or None (sent normally).
    Registered first, so botocore takes this answer as the service's and its retry policy decides
    what happens next. Note: botocore calls every before-send handler, so moto's in-process S3
    still applies a request answered with a status: those are the "applied, but the answer was an
    error" case (e.g. a 500 after the write). "drop" raises before moto sees the request.
    """
    stats = HttpFaults()

    def before_send(request: Any, **kwargs: Any) -> AWSResponse | None:
        n = stats.seen
        stats.seen += 1
        status = statuses(n, {"url": request.url, "method": request.method})
        if status is None:
            return None
        stats.injected += 1
        if status == "drop":
            raise EndpointConnectionError(endpoint_url=request.url)
        return error_response(request.url, int(status))

    event = f"before-send.s3.{operation}"
    client.meta.events.register_first(event, before_send, unique_id=f"http-faults-{operation}")
    no_sleep = mock.patch("botocore.retries.standard.ExponentialBackoff.delay_amount", return_value=0)
    try:
        with no_sleep:
            yield stats
    finally:
        client.meta.events.unregister(event, unique_id=f"http-faults-{operation}")
