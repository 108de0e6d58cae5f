"""A chain's ledger of committed parts, kept in pages so a checkpoint's size does not grow with the hop count.

A checkpoint lists the output parts and quarantine files of the hops since the ledger's last page
itself. Once PAGE_ENTRIES of earlier hops have gathered there, the next commit first writes them to
a page under the state prefix and lists the page instead (key, ETag, level, counts); PAGE_ENTRIES
pages of one level are written in turn into one page of the level above. So a checkpoint lists
fewer than PAGE_ENTRIES entries of earlier hops (plus the committing hop's own) and fewer than
PAGE_ENTRIES pages per level, and the levels grow as log64 of the hop count (4 at a million
hops): a few KiB up to ~40 KiB. Listing every part instead, a checkpoint gained ~230 bytes a hop:
476 KiB after 2,788 hops, which a 100 ms hop could no longer write and read back.

Pages are written by the committing attempt before its checkpoint, at keys of that attempt: a
losing attempt's pages are listed by nothing and expire with the state prefix. The manifest
(written by a run's last hop, or by a fan-out merge) reads the pages back, a level at a time,
PAGE_READ_THREADS at once, each with IfMatch on the ETag its checkpoint recorded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .checkpoint import Checkpoint, CheckpointError, CheckpointStore, LedgerPage, Part, page_from_doc, part_from_doc
from .s3util import in_parallel, is_missing, is_precondition_failed

PAGE_ENTRIES = 64
PAGE_READ_THREADS = 8


@dataclass(frozen=True)
class Carried:
    """The ledger fields of the next checkpoint."""

    ledger: tuple[LedgerPage, ...]
    parts: tuple[Part, ...]
    quarantine: tuple[Part, ...]


def pages_due(cp: Checkpoint) -> int:
    """How many pages the commit of the hop after `cp` writes: none, or one of its entries and one
    more for each level that then holds PAGE_ENTRIES pages (the hop's clock counts their PUTs)."""
    if len(cp.parts) + len(cp.quarantine) < PAGE_ENTRIES:
        return 0
    due, level = 1, 0
    while sum(1 for page in cp.ledger if page.level == level) == PAGE_ENTRIES - 1:
        due, level = due + 1, level + 1
    return due


def carry(store: CheckpointStore, cp: Checkpoint, attempt: str, parts: list[Part], quarantine: list[Part]) -> Carried:
    """`cp`'s ledger with this hop's entries added, after writing the pages pages_due counts. The
    hop's own entries always stay in the checkpoint: its committer (and their retries) publish
    them from there."""
    due = pages_due(cp)
    if not due:
        return Carried(cp.ledger, cp.parts + tuple(parts), cp.quarantine + tuple(quarantine))

    def write(level: int, doc: dict[str, Any], counts: tuple[int, int]) -> LedgerPage:
        key = store.layout.ledger_page(cp.hop + 1, attempt, level)
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        resp = store.s3.put_object(Bucket=store.bucket, Key=key, Body=body, ContentType="application/json")
        return LedgerPage(key, resp["ETag"], level, *counts)

    entries = {"parts": [asdict(p) for p in cp.parts], "quarantine": [asdict(p) for p in cp.quarantine]}
    pages = (*cp.ledger, write(0, entries, (len(cp.parts), len(cp.quarantine))))
    for level in range(1, due):  # the newest PAGE_ENTRIES pages are all of the level below
        full = pages[-PAGE_ENTRIES:]
        counts = (sum(p.part_count for p in full), sum(p.quarantine_count for p in full))
        pages = (*pages[:-PAGE_ENTRIES], write(level, {"pages": [asdict(p) for p in full]}, counts))
    return Carried(pages, tuple(parts), tuple(quarantine))


def entries(store: CheckpointStore, cp: Checkpoint) -> tuple[list[Part], list[Part]]:
    """Every output part and quarantine file the chain committed up to `cp`, in hop order."""
    pages = list(cp.ledger)
    while any(page.level for page in pages):
        docs = _read_all(store, [page for page in pages if page.level])
        pages = [child for page in pages for child in (_children(page, docs[page.key]) if page.level else [page])]
    docs = _read_all(store, pages)
    parts = [part for page in pages for part in _listed(page, docs[page.key], "parts", page.part_count)]
    quarantine = [q for page in pages for q in _listed(page, docs[page.key], "quarantine", page.quarantine_count)]
    return parts + list(cp.parts), quarantine + list(cp.quarantine)


def _read_all(store: CheckpointStore, pages: list[LedgerPage]) -> dict[str, dict[str, Any]]:
    docs = in_parallel(lambda page: _read(store, page), pages, PAGE_READ_THREADS)
    return {page.key: doc for page, doc in zip(pages, docs, strict=True)}


def _read(store: CheckpointStore, page: LedgerPage) -> dict[str, Any]:
    where = f"s3://{store.bucket}/{page.key}"
    if not page.key.startswith(store.layout.ledger_dir):
        raise CheckpointError(f"ledger page {where} is not in this chain's ledger ({store.layout.ledger_dir})")
    try:
        body = store.s3.get_object(Bucket=store.bucket, Key=page.key, IfMatch=page.etag)["Body"].read()
    except Exception as exc:
        if is_precondition_failed(exc):
            raise CheckpointError(
                f"ledger page {where} is not the one its checkpoint lists (ETag {page.etag})"
            ) from None
        if is_missing(exc):
            raise CheckpointError(
                f"ledger page {where} does not exist: was the state prefix expired by a lifecycle rule "
                "while the run was going?"
            ) from None
        raise
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise CheckpointError(f"ledger page {where} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"ledger page {where} is not a JSON object")
    return doc


def _children(page: LedgerPage, doc: dict[str, Any]) -> list[LedgerPage]:
    try:
        children = [page_from_doc(child) for child in doc["pages"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"ledger page {page.key} is malformed: {exc}") from None
    counts = (sum(c.part_count for c in children), sum(c.quarantine_count for c in children))
    if any(child.level != page.level - 1 for child in children) or counts != (page.part_count, page.quarantine_count):
        raise CheckpointError(f"ledger page {page.key} does not hold the pages its checkpoint counts")
    return children


def _listed(page: LedgerPage, doc: dict[str, Any], kind: str, count: int) -> list[Part]:
    try:
        listed = [part_from_doc(part) for part in doc[kind]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"ledger page {page.key} is malformed: {exc}") from None
    if len(listed) != count:
        raise CheckpointError(f"ledger page {page.key} lists {len(listed)} {kind}, its checkpoint counts {count}")
    return listed
