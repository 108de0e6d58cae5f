"""Reading one pinned object version: ranged, pinned GETs, change detection, cache reuse, accounting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.__package_name }}.checkpoint import ObjectRef
from {{ cookiecutter.__package_name }}.etag_cache import EtagCache
from {{ cookiecutter.__package_name }}.source import ObjectChangedError, ObjectSource

from .harness import BUCKET, Harness, RecordingS3

KEY = "incoming/source.bin"
BODY = bytes(range(256)) * 40  # 10240 bytes


def upload(h: Harness, body: bytes = BODY) -> ObjectRef:
    resp = h.s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    return ObjectRef(BUCKET, KEY, resp["ETag"], len(body), None)


def read_all(src: ObjectSource, offset: int) -> bytes:
    return b"".join(src.chunks(offset))


@pytest.mark.parametrize("offset", [0, 1, 4095, 5000, len(BODY) - 1, len(BODY)])
def test_reads_from_an_offset_with_a_pinned_range(h: Harness, offset: int) -> None:
    ref = upload(h)
    s3 = RecordingS3(h.s3)
    src = ObjectSource(s3, ref, None, 1000)
    assert read_all(src, offset) == BODY[offset:]
    assert src.bytes_fetched == len(BODY) - offset
    if offset == len(BODY):
        assert s3.gets == []  # nothing left: no request at all
    else:
        assert s3.gets == [{"Bucket": BUCKET, "Key": KEY, "Range": f"bytes={offset}-", "IfMatch": ref.etag}]


def test_chunks_have_the_chunk_size(h: Harness) -> None:
    src = ObjectSource(h.s3, upload(h), None, 3000)
    sizes = [len(c) for c in src.chunks(0)]
    assert sizes == [3000, 3000, 3000, 1240]


def test_reads_ramp_up_and_end_on_multiples_of_the_chunk_size(h: Harness) -> None:
    body = bytes(range(256)) * 1200  # 307200 bytes
    src = ObjectSource(h.s3, upload(h, body), None, 100_000)
    sizes = [len(c) for c in src.chunks(5)]
    assert sizes == [65536, 34459, 100_000, 100_000, 7200]  # a short first read, then aligned ones


def test_stopping_early_fetches_little(h: Harness) -> None:
    src = ObjectSource(h.s3, upload(h), None, 1024)
    it = src.chunks(0)
    assert next(it) == BODY[:1024]
    assert src.bytes_fetched == 1024


def test_412_means_the_object_changed(h: Harness) -> None:
    ref = upload(h)
    new = h.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"something else")["ETag"]
    src = ObjectSource(h.s3, ref, None, 1000)
    with pytest.raises(ObjectChangedError) as info:
        read_all(src, 0)
    assert ref.etag in str(info.value)
    assert new in str(info.value)
    assert info.value.current == new


def test_deleted_object(h: Harness) -> None:
    ref = upload(h)
    h.s3.delete_object(Bucket=BUCKET, Key=KEY)
    src = ObjectSource(h.s3, ref, None, 1000)
    with pytest.raises(ObjectChangedError, match="deleted"):
        read_all(src, 0)


def test_the_next_hop_reads_the_tail_from_cache_after_revalidation(h: Harness, tmp_path: Path) -> None:
    ref = upload(h)
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    first = ObjectSource(h.s3, ref, cache, 1000)
    it = first.chunks(2000)
    assert next(it) + next(it) == BODY[2000:4000]
    first.keep_tail(3000)  # the hop stopped at 3000, having fetched up to 4000
    assert first.bytes_fetched == 2000
    assert not first.cache_hit
    s3 = RecordingS3(h.s3)
    second = ObjectSource(s3, ref, cache, 1000)  # the next hop on the same container
    assert read_all(second, 3000) == BODY[3000:]
    assert second.cache_hit
    assert second.bytes_fetched == len(BODY) - 4000  # 3000..4000 came from the cache, only the rest from S3
    assert s3.gets[0] == {"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": ref.etag}
    assert s3.gets[1]["Range"] == "bytes=4000-"
    assert s3.gets[1]["IfMatch"] == ref.etag
    # Only the tail is kept, never what a hop consumed: at the end of the object nothing is left,
    # and a retry of the last hop reads from S3 (see the source module's docstring for why).
    second.keep_tail(len(BODY))
    assert cache.validated(h.s3, BUCKET, KEY, ref.etag, None) is None
    third = ObjectSource(h.s3, ref, cache, 1000)
    assert read_all(third, 3000) == BODY[3000:]
    assert not third.cache_hit


@pytest.mark.parametrize("stop", [0, 100, 6000, 6999, 7000])
def test_the_tail_is_kept_when_the_recent_chunks_reach_back_to_the_stop(h: Harness, tmp_path: Path, stop: int) -> None:
    """The source remembers about four chunks; a hop that stopped further back than that (a
    reader holding a long record) leaves nothing rather than a tail with a hole."""
    ref = upload(h)
    cache = EtagCache(1 << 20, 0, str(tmp_path))
    first = ObjectSource(h.s3, ref, cache, 1000)
    read_all(first, 0)
    first.keep_tail(stop)
    second = ObjectSource(h.s3, ref, cache, 1000)
    assert read_all(second, stop) == BODY[stop:]
    reaches_back = stop >= 6000  # remembered: 6000..10240, four whole chunks and the short last one
    assert second.cache_hit == reaches_back
    assert second.bytes_fetched == (0 if reaches_back else len(BODY) - stop)


def test_cached_copy_of_a_changed_object_is_refused(h: Harness, tmp_path: Path) -> None:
    ref = upload(h)
    cache = EtagCache(1 << 20, 0, str(tmp_path))
    first = ObjectSource(h.s3, ref, cache, 4096)
    read_all(first, 0)
    first.keep_tail(100)
    h.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"overwritten")
    with pytest.raises(ObjectChangedError, match="changed during the run"):
        read_all(ObjectSource(h.s3, ref, cache, 4096), 100)


def test_offset_before_the_cached_range_reads_from_s3(h: Harness, tmp_path: Path) -> None:
    ref = upload(h)
    cache = EtagCache(1 << 20, 0, str(tmp_path))
    first = ObjectSource(h.s3, ref, cache, 4096)
    read_all(first, 5000)
    first.keep_tail(6000)
    src = ObjectSource(h.s3, ref, cache, 4096)
    assert read_all(src, 100) == BODY[100:]
    assert not src.cache_hit
    assert src.bytes_fetched == len(BODY) - 100


def test_disk_cache_round_trip(h: Harness, tmp_path: Path) -> None:
    ref = upload(h)
    cache = EtagCache(0, 1 << 20, str(tmp_path))
    first = ObjectSource(h.s3, ref, cache, 4096)
    read_all(first, 0)
    first.keep_tail(7)
    assert len(os.listdir(tmp_path)) == 1
    src = ObjectSource(h.s3, ref, cache, 333)
    assert read_all(src, 7) == BODY[7:]
    assert src.bytes_fetched == 0


def test_broken_stream_is_reopened_where_it_stopped(h: Harness) -> None:
    ref = upload(h)

    class Breaking:
        def __init__(self, body: Any) -> None:
            self.body, self.served = body, 0

        def read(self, n: int) -> bytes:
            if self.served >= 1500:
                raise OSError("connection reset")
            data: bytes = self.body.read(n)
            self.served += len(data)
            return data

        def close(self) -> None:
            self.body.close()

    class Flaky(RecordingS3):
        def get_object(self, **kwargs: Any) -> Any:
            resp = super().get_object(**kwargs)
            if len(self.gets) == 1:
                resp["Body"] = Breaking(resp["Body"])
            return resp

    s3 = Flaky(h.s3)
    src = ObjectSource(s3, ref, None, 1000)
    assert read_all(src, 0) == BODY
    assert [g["Range"] for g in s3.gets] == ["bytes=0-", "bytes=2000-"]
    assert src.bytes_fetched == len(BODY)
