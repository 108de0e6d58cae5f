"""Bad input that is the same in every mode: an empty object, a key with spaces and unicode, a
tampered or truncated continuation payload, a checkpoint of an unknown schema version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.run_report import run_status

from {{ cookiecutter.__package_name }}.checkpoint import CheckpointError
from {{ cookiecutter.__package_name }}.runs import resume_event

from .conftest import BUCKET, Chain, Harness, keys, sample
from .test_hop_faults import reference, same


def test_empty_object_succeeds_with_nothing(h: Harness) -> None:
    chain = Chain(h).run(h.put_input(b"", "incoming/empty"))
    assert not chain.failed
    out = h.outcome(chain.run_id())
    assert (out.status, out.records, out.bad_records, out.output_items, out.output, out.bad) == (
        "succeeded", 0, 0, 0, b"", []
    )  # fmt: skip
    assert out.hops == 1


def test_key_with_spaces_and_unicode(h: Harness) -> None:
    """S3 events URL-encode keys (space as +, UTF-8 as %XX); the run reads the right object."""
    data = sample(20).data
    ref, _ = reference(h, data)
    key = "incoming/sales report + ü €/été 2024 (final).data"
    event = h.put_input(data, key)
    assert "%" in event["Records"][0]["s3"]["object"]["key"] and " " not in event["Records"][0]["s3"]["object"]["key"]
    chain = Chain(h).run(event)
    assert not chain.failed
    out = h.outcome(chain.run_id())
    same(out, ref)
    manifest = json.loads(
        h.s3.get_object(Bucket=BUCKET, Key=f"{h.cfg.output_prefix}{chain.run_id()}/manifest.json")["Body"].read()
    )
    assert manifest["source"]["key"] == key


def _continuation(h: Harness, key: str) -> tuple[Chain, dict[str, Any]]:
    chain = Chain(h)
    before = len(h.lam.payloads)
    chain.deliver(h.put_input(sample(20).data, key))
    assert len(h.lam.payloads) == before + 1
    return chain, dict(h.lam.payloads[-1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"etag": '"0123456789abcdef0123456789abcdef"'}, "replaced or the payload was altered"),
        ({"hop": 2}, "lives at"),
        ({"key": "incoming/elsewhere.json"}, "lives at"),
        ({"bucket": "another-bucket"}, "does not exist"),
        ({"v": 2}, "payload version 2 is not 1"),
        ({"hop": "1"}, "payload is malformed"),
        ({"etag": None}, "payload is malformed"),
    ],
)
def test_tampered_payload_is_refused_and_the_run_goes_on(h: Harness, change: dict[str, Any], message: str) -> None:
    chain, payload = _continuation(h, f"incoming/tamper {sorted(change)} {change}")
    bad = {**payload, **change}
    with pytest.raises(CheckpointError, match=message):
        chain.invoke_once(bad)
    chain.run(payload)  # the genuine payload still finishes the run
    assert h.outcome(chain.run_id()).status == "succeeded"


@pytest.mark.parametrize("drop", ["bucket", "run_id", "hop", "key", "etag"])
def test_truncated_payload_is_refused(h: Harness, drop: str) -> None:
    chain, payload = _continuation(h, f"incoming/truncated {drop}")
    del payload[drop]
    with pytest.raises(CheckpointError, match=f"payload is malformed: '{drop}'"):
        chain.invoke_once(payload)


def test_payload_truncated_to_its_kind_is_refused(h: Harness) -> None:
    chain, payload = _continuation(h, "incoming/kind only")
    with pytest.raises(CheckpointError, match="payload version None is not 1"):
        chain.invoke_once({"kind": payload["kind"]})


def test_checkpoint_of_an_unknown_schema_version(h: Harness) -> None:
    """A checkpoint written by other code (schema 3) is refused with a clear error, by the
    continuation that points at it and by resume; nothing is guessed and nothing is committed."""
    chain, payload = _continuation(h, "incoming/schema")
    key = payload["key"]
    doc = json.loads(h.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    doc["schema"] = 3
    etag = h.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(doc).encode())["ETag"]
    with pytest.raises(CheckpointError, match="has schema version 3; this code reads versions 1, 2"):
        chain.invoke_once({**payload, "etag": etag})
    with pytest.raises(CheckpointError, match="has schema version 3"):
        chain.invoke_once(resume_event(BUCKET, payload["run_id"]))
    assert keys(h, f"{h.cfg.output_prefix}{payload['run_id']}/manifest.json") == []
    with pytest.raises(CheckpointError, match="has schema version 3"):
        run_status(h.s3, BUCKET, payload["run_id"], h.cfg)
