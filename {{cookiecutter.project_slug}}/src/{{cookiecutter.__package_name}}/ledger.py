"""A chain's ledger of committed parts, kept in pages so a checkpoint's size does not grow with the hop count.

A checkpoint lists the output parts and quarantine files of the hops since the ledger's last page
itself. Once those reach PAGE_ENTRIES, the next commit first writes them to a page under the state
prefix and lists the page instead (key, ETag, level); PAGE_ENTRIES pages of one level are written
in turn into one page of the level above. So a checkpoint lists fewer than 2 x PAGE_ENTRIES
entries and PAGE_ENTRIES - 1 pages per level, and the levels grow as log64 of the hop count (4 at
a million hops). Listing every part instead made a 476 KiB checkpoint after 2,788 hops, 26 ms to
write and read back: more than a 100 ms hop had, so the chain stalled for ever.

Pages are written by the committing attempt before its checkpoint, at keys of that attempt: a
losing attempt's pages are listed by nothing and expire with the state prefix. What needs every
part (the manifest, deleting a replaced range's parts) reads the pages back, a level at a time,
PAGE_READ_THREADS at once, each with IfMatch on the ETag its checkpoint recorded.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .checkpoint import Checkpoint, CheckpointError, CheckpointStore, LedgerPage, Part, page_from_doc, part_from_doc
from .s3util import in_parallel, is_missing, is_precondition_failed

PAGE_ENTRIES = 64
PAGE_READ_THREADS = 8


def pages_due(cp: Checkpoint) -> int:
    """How many pages the commit of the hop after `cp` writes (the hop's clock counts their PUTs)."""
    if len(cp.parts) + len(cp.quarantine) < PAGE_ENTRIES:
        return 0
    due, level = 1, 0
    while sum(1 for page in cp.ledger if page.level == level) == PAGE_ENTRIES - 1:
        due, level = due + 1, level + 1
    return due


def carry(
    store: CheckpointStore, cp: Checkpoint, attempt: str, parts: list[Part], quarantine: list[Part]
) -> dict[str, Any]:
    """The ledger fields of the checkpoint after `cp`: its entries and this hop's, the former
    written to a page first when they are full. The hop's own entries always stay in the
    checkpoint (its committer and their retries publish them from there)."""
    ledger, old_parts, old_quarantine = cp.ledger, cp.parts, cp.quarantine
    if len(old_parts) + len(old_quarantine) >= PAGE_ENTRIES:
        doc = {"parts": [asdict(p) for p in old_parts], "quarantine": [asdict(p) for p in old_quarantine]}
        ledger += (_write(store, cp.hop + 1, attempt, 0, doc, len(old_parts), len(old_quarantine)),)
        old_parts, old_quarantine = (), ()
        level = 0
        while len(ledger) >= PAGE_ENTRIES and all(page.level == level for page in ledger[-PAGE_ENTRIES:]):
            full = ledger[-PAGE_ENTRIES:]
            page = _write(store, cp.hop + 1, attempt, level + 1, {"pages": [asdict(p) for p in full]},
                          sum(p.parts for p in full), sum(p.quarantine for p in full))  # fmt: skip
            ledger, level = (*ledger[:-PAGE_ENTRIES], page), level + 1
    return {"ledger": ledger, "parts": old_parts + tuple(parts), "quarantine": old_quarantine + tuple(quarantine)}


def entries(store: CheckpointStore, cp: Checkpoint) -> tuple[list[Part], list[Part]]:
    """Every output part and quarantine file the chain committed up to `cp`, in hop order."""
    pages = list(cp.ledger)
    while any(page.level for page in pages):
        docs = _read_all(store, [page for page in pages if page.level])
        pages = [child for page in pages for child in (_children(page, docs[page.key]) if page.level else [page])]
    docs = _read_all(store, pages)
    parts = [part for page in pages for part in _listed(page, docs[page.key], "parts")]
    quarantine = [part for page in pages for part in _listed(page, docs[page.key], "quarantine")]
    return parts + list(cp.parts), quarantine + list(cp.quarantine)


def _write(store: CheckpointStore, hop: int, attempt: str, level: int, doc: dict[str, Any], parts: int,
           quarantine: int) -> LedgerPage:  # fmt: skip
    key = store.layout.ledger_page(hop, attempt, level)
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    resp = store.s3.put_object(Bucket=store.bucket, Key=key, Body=body, ContentType="application/json")
    return LedgerPage(key, resp["ETag"], level, parts, quarantine)


def _read_all(store: CheckpointStore, pages: list[LedgerPage]) -> dict[str, dict[str, Any]]:
    docs = in_parallel(lambda page: _read(store, page), pages, PAGE_READ_THREADS)
    return {page.key: doc for page, doc in zip(pages, docs, strict=True)}


def _read(store: CheckpointStore, page: LedgerPage) -> dict[str, Any]:
    where = f"s3://{store.bucket}/{page.key}"
    if not page.key.startswith(store.layout.ledger_page(0, "", 0).rsplit("/", 1)[0] + "/"):
        raise CheckpointError(f"ledger page {where} is not in this chain's ledger ({store.layout.state_dir}ledger/)")
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
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise CheckpointError(f"ledger page {where} is not a JSON object")
    return doc


def _children(page: LedgerPage, doc: dict[str, Any]) -> list[LedgerPage]:
    try:
        children = [page_from_doc(child) for child in doc["pages"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"ledger page {page.key} is malformed: {exc}") from None
    counts = (sum(c.parts for c in children), sum(c.quarantine for c in children))
    if any(child.level != page.level - 1 for child in children) or counts != (page.parts, page.quarantine):
        raise CheckpointError(f"ledger page {page.key} does not hold what its checkpoint counts")
    return children


def _listed(page: LedgerPage, doc: dict[str, Any], kind: str) -> list[Part]:
    try:
        listed = [part_from_doc(part) for part in doc[kind]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"ledger page {page.key} is malformed: {exc}") from None
    if len(listed) != (page.parts if kind == "parts" else page.quarantine):
        raise CheckpointError(
            f"ledger page {page.key} lists {len(listed)} {kind}, its checkpoint counts another number"
        )
    return listed
