"""The container cache: 304 revalidation, change detection, LRU by bytes over two budgets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.__package_name }}.etag_cache import CacheEntry, Changed, EtagCache

from .harness import BUCKET, Harness, RecordingS3

KEY = "incoming/cached.bin"


def held(cache: EtagCache) -> int:
    """How many objects the cache holds (production never asks)."""
    return len(cache._entries)


def upload(h: Harness, body: bytes, key: str = KEY) -> str:
    etag: str = h.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"]
    return etag


def filled(cache: EtagCache, key: str, etag: str, body: bytes, offset: int = 0) -> CacheEntry:
    entry = cache.start(BUCKET, key, etag, offset, len(body) - offset)
    assert entry is not None
    assert entry.append(offset, body[offset:])
    return entry


def test_hit_on_304(h: Harness, tmp_path: Path) -> None:
    body = b"0123456789" * 10
    etag = upload(h, body)
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    filled(cache, KEY, etag, body)
    s3 = RecordingS3(h.s3)
    entry = cache.validated(s3, BUCKET, KEY, etag, None)
    assert entry is not None
    assert entry.read(10, 15) == body[10:25]
    # It really was a conditional GET that moto answered 304 (nothing else would have returned).
    assert s3.gets == [{"Bucket": BUCKET, "Key": KEY, "IfNoneMatch": etag}]


def test_no_entry_means_no_request(h: Harness, tmp_path: Path) -> None:
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    s3 = RecordingS3(h.s3)
    assert cache.validated(s3, BUCKET, KEY, '"x"', None) is None
    assert s3.gets == []


def test_changed_object_is_reported_with_its_new_etag(h: Harness, tmp_path: Path) -> None:
    old = upload(h, b"old content")
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    filled(cache, KEY, old, b"old content")
    new = upload(h, b"new content, longer")
    assert new != old
    assert cache.validated(h.s3, BUCKET, KEY, old, None) == Changed(new)
    assert held(cache) == 0  # the stale copy is gone


def test_deleted_object_is_reported(h: Harness, tmp_path: Path) -> None:
    etag = upload(h, b"content")
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    filled(cache, KEY, etag, b"content")
    h.s3.delete_object(Bucket=BUCKET, Key=KEY)
    assert cache.validated(h.s3, BUCKET, KEY, etag, None) == Changed(None)
    assert held(cache) == 0


def test_entry_for_another_etag_is_dropped_without_a_request(h: Harness, tmp_path: Path) -> None:
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    filled(cache, KEY, '"old"', b"abc")
    s3 = RecordingS3(h.s3)
    assert cache.validated(s3, BUCKET, KEY, '"new"', None) is None
    assert s3.gets == []
    assert held(cache) == 0


def test_refresh_after_a_change(h: Harness, tmp_path: Path) -> None:
    """After a change is reported, a run pinned to the new version starts a fresh entry."""
    old = upload(h, b"version one")
    cache = EtagCache(1 << 20, 1 << 20, str(tmp_path))
    filled(cache, KEY, old, b"version one")
    new = upload(h, b"version two!")
    assert cache.validated(h.s3, BUCKET, KEY, old, None) == Changed(new)
    filled(cache, KEY, new, b"version two!")
    entry = cache.validated(h.s3, BUCKET, KEY, new, None)
    assert entry is not None
    assert entry.read(0, 100) == b"version two!"


def test_recycled_container_starts_empty(h: Harness, tmp_path: Path) -> None:
    etag = upload(h, b"x" * 5000)
    first = EtagCache(0, 1 << 20, str(tmp_path))  # on disk
    entry = filled(first, KEY, etag, b"x" * 5000)
    assert entry.path is not None
    assert os.path.exists(entry.path)
    # A new container: module state is gone, and files left in /tmp by another are not trusted.
    second = EtagCache(0, 1 << 20, str(tmp_path))
    assert held(second) == 0
    assert second.validated(h.s3, BUCKET, KEY, etag, None) is None
    assert not os.path.exists(entry.path)


def test_a_new_cache_removes_only_its_own_files(tmp_path: Path) -> None:
    """CACHE_DIR may be set to a folder that holds other things: only entry files go."""
    mine = tmp_path / ("ab" * 32)
    mine.write_bytes(b"stale entry")
    theirs = [tmp_path / "notes.txt", tmp_path / "sub" / ("cd" * 32)]
    theirs[1].parent.mkdir()
    for path in theirs:
        path.write_bytes(b"keep me")
    EtagCache(0, 1 << 20, str(tmp_path))
    assert not mine.exists()
    assert all(path.read_bytes() == b"keep me" for path in theirs)


def test_a_full_tmp_stops_caching_not_the_hop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = EtagCache(0, 1 << 20, str(tmp_path))
    entry = cache.start(BUCKET, KEY, '"e"', 0, 100)
    assert entry is not None
    assert entry.append(0, b"a" * 40)

    def full(*args: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    assert not entry.append(40, b"b" * 40)  # refused, not raised
    assert entry.read(0, 100) == b"a" * 40  # what it holds is still right
    monkeypatch.setattr(os, "open", full)
    assert cache.start(BUCKET, "other", '"o"', 0, 100) is None
    assert cache.disk_budget == 0, "no more disk caching in this container"


def test_small_entries_in_memory_large_ones_on_disk(tmp_path: Path) -> None:
    cache = EtagCache(100, 1000, str(tmp_path))
    small = filled(cache, "small", '"s"', b"s" * 100)
    large = filled(cache, "large", '"l"', b"l" * 101)
    assert small.path is None
    assert large.path is not None
    assert Path(large.path).read_bytes() == b"l" * 101
    assert large.read(100, 10) == b"l"


def test_too_big_for_its_budget_is_not_cached(tmp_path: Path) -> None:
    cache = EtagCache(100, 1000, str(tmp_path))
    assert cache.start(BUCKET, "k", '"e"', 0, 1001) is None
    assert held(cache) == 0
    entry = cache.start(BUCKET, "k", '"e"', 500, 501)
    assert entry is not None
    assert (entry.start, entry.end, entry.reserved) == (500, 500, 501)


def test_nothing_to_cache(tmp_path: Path) -> None:
    cache = EtagCache(100, 1000, str(tmp_path))
    assert cache.start(BUCKET, "k", '"e"', 50, 0) is None


def test_lru_eviction_by_bytes_in_memory(h: Harness, tmp_path: Path) -> None:
    cache = EtagCache(100, 0, str(tmp_path))
    bodies = {f"k{i}": bytes([65 + i]) * 40 for i in range(3)}
    etags = {k: upload(h, b, k) for k, b in bodies.items()}
    filled(cache, "k0", etags["k0"], bodies["k0"])
    filled(cache, "k1", etags["k1"], bodies["k1"])
    # Touch k0 (a validated hit), so k1 is now the least recently used.
    assert cache.validated(h.s3, BUCKET, "k0", etags["k0"], None) is not None
    filled(cache, "k2", etags["k2"], bodies["k2"])  # 120 > 100: one must go
    assert held(cache) == 2
    assert cache.validated(h.s3, BUCKET, "k1", etags["k1"], None) is None
    assert cache.validated(h.s3, BUCKET, "k0", etags["k0"], None) is not None
    assert cache.validated(h.s3, BUCKET, "k2", etags["k2"], None) is not None


def test_eviction_on_disk_deletes_files_and_leaves_memory_alone(tmp_path: Path) -> None:
    cache = EtagCache(10, 300, str(tmp_path))
    mem = filled(cache, "mem", '"m"', b"m" * 10)
    d1 = filled(cache, "d1", '"1"', b"1" * 150)
    d2 = filled(cache, "d2", '"2"', b"2" * 150)
    assert d1.path is not None
    assert d2.path is not None
    d3 = filled(cache, "d3", '"3"', b"3" * 150)
    assert d3.path is not None
    assert not os.path.exists(d1.path)
    assert os.path.exists(d2.path)
    assert os.path.exists(d3.path)
    assert held(cache) == 3  # mem, d2, d3: a disk entry never evicts a memory one
    assert mem.read(0, 10) == b"m" * 10
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (d2.path, d3.path))


def test_drop_deletes_the_file(tmp_path: Path) -> None:
    cache = EtagCache(0, 1000, str(tmp_path))
    entry = filled(cache, "k", '"e"', b"z" * 100)
    assert entry.path is not None
    cache.drop(BUCKET, "k")
    assert not os.path.exists(entry.path)
    cache.drop(BUCKET, "k")  # twice is fine
    assert held(cache) == 0


@pytest.mark.parametrize("on_disk", [False, True])
def test_append_must_be_contiguous_and_within_the_reservation(tmp_path: Path, on_disk: bool) -> None:
    cache = EtagCache(0 if on_disk else 1000, 1000, str(tmp_path))
    entry = cache.start(BUCKET, "k", '"e"', 5, 15)
    assert entry is not None
    assert (entry.path is not None) == on_disk
    assert not entry.append(4, b"x")  # before its end
    assert not entry.append(6, b"x")  # a gap
    assert entry.append(5, b"abcde")
    assert entry.append(10, b"fghij")
    assert not entry.append(15, b"klmnop")  # beyond the reservation (15 bytes)
    assert entry.append(15, b"klmno")
    assert (entry.start, entry.end) == (5, 20)
    assert entry.read(5, 100) == b"abcdefghijklmno"
    assert entry.read(12, 3) == b"hij"


def test_versioned_revalidation(h: Harness, tmp_path: Path) -> None:
    h.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    resp = h.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"v1 body")
    etag, version = resp["ETag"], resp["VersionId"]
    cache = EtagCache(1 << 20, 0, str(tmp_path))
    filled(cache, KEY, etag, b"v1 body")
    s3 = RecordingS3(h.s3)
    assert cache.validated(s3, BUCKET, KEY, etag, version) is not None
    assert s3.gets[0]["VersionId"] == version
