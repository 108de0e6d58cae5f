"""`make soak`: many seeded, randomised chains of every fault kind through the local emulator.

Each chain uploads a generated input of this project's mode in which every good record carries a
unique id and the tag of its object version, runs the real handler's recursive chain under the
emulator with a random mix of faults (kills at random instants, duplicate deliveries, concurrent
or delayed, recycled sandboxes, async retries, and sometimes the input replaced mid-run under the
`fail` or `restart` policy), resumes runs whose async retries ran out (as an operator would, with
the cause fixed: a longer timeout), and then checks the committed output *independently* of the
handler: every id of the committed object version exactly once, in order, and nothing from the
other version. It prints one table and exits non-zero when anything was lost, duplicated or mixed,
when an output differs from a single pass over the same object, or when a run did not finish.

    python -m devtools.soak [--runs N] [--seed S] [--json FILE]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import importlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import passthrough, project
from .emulator import for_this_project
from .faults import Faults
from .package import deployed_package
from .s3_docs import get_json, make_bucket, s3_event
from .s3_server import MotoServer

# Small reads and batches, so that small inputs are cut into many hops at short timeouts.
CHAIN_ENV = {
    "READ_CHUNK_BYTES": "8192",
    "FIRST_BATCH_RECORDS": "20",
    "MAX_BATCH_RECORDS": "100",
    "BYTES_CHUNK_SIZE": "256",
    "MIN_MARGIN_MS": "40",
}
BYTES_RECORD = int(CHAIN_ENV["BYTES_CHUNK_SIZE"])
# Simulated cost of the user's code per record (see slow_handler).
{%- if cookiecutter.processing_mode == "bytes" %}
RECORD_US = 2500
{%- else %}
RECORD_US = 800
{%- endif %}
_WORDS = ["plain", "comma, inside", 'say "hi"', "two\nlines", "Zürich", "東京", "naïve café", "", " padded "]


# -- inputs whose records can be counted independently of the handler --------------------------
@dataclass
class Generated:
    data: bytes
    ids: list[int]  # ids of the good records, in input order
    bad: int  # records that must be quarantined


def generate(mode: str, n: int, version: str, seed: int) -> Generated:
    """`n` records of the project's mode, each good one tagged (id, version); about 1 in 50 is bad
    on purpose where the mode has bad records.
{%- if cookiecutter.processing_mode == "csv" %}

    Header `id,ver,note,qty` then RFC 4180 rows (quoted commas, quotes, newlines, unicode, CRLF);
    a bad row has the wrong field count.
    """
    rng = random.Random(f"{seed}-{version}")
    ids: list[int] = []
    bad = 0
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["id", "ver", "note", "qty"])
    for i in range(n):
        if rng.random() < 0.02:
            buf.write(f"{i},{version},ragged\r\n")
            bad += 1
            continue
        w.writerow([i, version, rng.choice(_WORDS), rng.randint(0, 99)])
        ids.append(i)
    return Generated(buf.getvalue().encode(), ids, bad)
{%- elif cookiecutter.processing_mode == "jsonl" %}

    Objects {"id","ver","note","qty"}, blank lines now and then; a bad line is not JSON.
    """
    rng = random.Random(f"{seed}-{version}")
    ids: list[int] = []
    bad = 0
    lines: list[str] = []
    for i in range(n):
        r = rng.random()
        if r < 0.02:
            lines.append('{"id": ' + str(i) + ', "broken":')
            bad += 1
            continue
        if r < 0.04:
            lines.append("   ")
        doc = {"id": i, "ver": version, "note": rng.choice(_WORDS), "qty": rng.randint(0, 99)}
        lines.append(json.dumps(doc, ensure_ascii=rng.random() < 0.5))
        ids.append(i)
    text = "\n".join(lines) + ("\n" if rng.random() < 0.7 else "")
    return Generated(text.encode(), ids, bad)
{%- else %}

    Fixed records of BYTES_CHUNK_SIZE bytes, each starting with `<ver><id:09d>`; every offset is
    a record boundary, so none is bad.
    """
    rng = random.Random(f"{seed}-{version}")
    ids: list[int] = []
    out = bytearray()
    for i in range(n):
        head = f"{version}{i:09d}".encode()
        out += head + rng.randbytes(BYTES_RECORD - len(head))
        ids.append(i)
    tail = rng.randrange(0, BYTES_RECORD)  # a short last record
    if tail >= 10:
        out += f"{version}{n:09d}".encode() + rng.randbytes(tail - 10)
        ids.append(n)
    return Generated(bytes(out), ids, 0)
{%- endif %}


def gzip_members(plain: bytes, cuts: list[int], levels: list[int]) -> bytes:
    """`plain` gzip-compressed as members split at `cuts` (one member when there are none), the
    i-th at levels[i % len(levels)]: what concatenated .gz files or bgzip produce."""
    edges = [0, *sorted({c for c in cuts if 0 < c < len(plain)}), len(plain)]
    return b"".join(
        gzip.compress(plain[a:b], levels[i % len(levels)], mtime=0) for i, (a, b) in enumerate(pairwise(edges))
    )


def tags_in_output(mode: str, output: bytes) -> list[tuple[str, int]]:
    """(version, id) of every record in a committed output, read without the handler's code."""
{%- if cookiecutter.processing_mode == "bytes" %}
    tags = []
    for i in range(0, len(output), BYTES_RECORD):
        head = output[i : i + 10]
        tags.append((head[:1].decode("latin-1"), int(head[1:]) if head[1:].isdigit() else -1))
    return tags
{%- else %}
    tags = []
    for line in output.splitlines():
        doc = json.loads(line)
        tags.append((str(doc.get("ver")), int(doc.get("id", -1))))
    return tags
{%- endif %}


@dataclass
class Check:
    records_out: int
    lost: int
    duplicated: int
    mixed: int
    in_order: bool


def check_output(mode: str, output: bytes, expected: Generated, version: str) -> Check:
    """Compare a committed output with the ids of the object version it claims to cover."""
    tags = tags_in_output(mode, output)
    mine = [i for v, i in tags if v == version]
    counts = Counter(mine)
    lost = sum(1 for i in expected.ids if i not in counts)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    mixed = len(tags) - len(mine)
    return Check(len(tags), lost, duplicated, mixed, mine == expected.ids)


def single_pass(mode: str, data: bytes, env: dict[str, str]) -> tuple[bytes, int, int]:
    """The reference: the mode's reader and the framework's own process.py (devtools.passthrough)
    over the whole object in one go, no S3."""
    config = deployed_package("config")
    records = deployed_package("records")
    cfg = config.Config.from_env({"INPUT_PREFIX": project.INPUT_PREFIX, "INPUT_SUFFIX": project.INPUT_SUFFIX, **env})
    reader = records.RecordReader(iter([data]), 0, 0, {}, cfg)
    state = passthrough.initial_state()
    out: list[bytes] = []
    n = bad = 0
    while True:
        batch = reader.read_batch(1_000_000, lambda: False)
        if batch.records:
            out.append(records.encode_output(passthrough.process_batch(batch.records, state)))
        n += len(batch.records)
        bad += len(batch.bad)
        if batch.eof:
            return b"".join(out), n, bad


# -- slow user code -------------------------------------------------------------------------------
@functools.cache
def _slowed_function() -> Any:
    """The deployed function of this sandbox with a slowed passthrough as its process.py (made once,
    so its cache lives as long as the sandbox)."""
    import os

    handler = importlib.import_module(f"{project.PACKAGE}.handler")
    per_record = float(os.environ.get("SOAK_RECORD_US", "0")) / 1e6

    def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
        time.sleep(per_record * len(records))
        return passthrough.process_batch(records, state)

    slowed = SimpleNamespace(
        initial_state=passthrough.initial_state, process_batch=process_batch, finish=passthrough.finish
    )
    return handler.make_handler(replace(handler.FUNCTION, process=slowed))


def slow_handler(event: Any, context: Any) -> Any:
    """The real handler, with the framework's own process.py (devtools.passthrough: the soak checks
    that every record comes through once) slowed by SOAK_RECORD_US microseconds per record.

    The emulator runs this in its sandboxes (handler="devtools.soak.slow_handler"): real user code
    is slower than the worked example, and slower batches make small inputs take many hops at short
    timeouts (and exercise the adaptive margin) while keeping the machine's CPUs free.
    """
    return _slowed_function()(event, context)


# -- one chain ----------------------------------------------------------------------------------
@dataclass
class ChainSpec:
    number: int
    seed: int
    records: int
    timeout_ms: int
    faults: Faults
    policy: str  # ON_OBJECT_CHANGE

    def describe(self) -> str:
        return f"#{self.number} seed={self.seed} n={self.records} timeout={self.timeout_ms}ms {self.faults.describe()}"


@dataclass
class ChainResult:
    spec: str
    status: str = "unfinished"  # succeeded | failed-as-expected | unfinished
    version: str = "A"  # the object version the committed output covers
    hops: int = 0
    invocations: int = 0
    timeouts: int = 0  # invocations that ran into their deadline (Sandbox.Timedout): margin misses
    kills: int = 0
    duplicates: int = 0
    retries: int = 0
    recycles: int = 0
    overwrites: int = 0
    resumes: int = 0
    records_in: int = 0
    records_out: int = 0
    lost: int = 0
    duplicated: int = 0
    mixed: int = 0
    differs: int = 0  # 1 when the output or counts differ from a single pass over the same version
    notes: list[str] = field(default_factory=list)


def random_spec(number: int, rng: random.Random) -> ChainSpec:
    overwrite = rng.randrange(0, 4) if rng.random() < 0.2 else None
    faults = Faults(
        kill=rng.choice([0.0, 0.05, 0.15, 0.3]),
        duplicate=rng.choice([0.0, 0.1, 0.3, 0.5]),
        recycle=rng.choice([0.0, 0.2, 0.6]),
        overwrite=overwrite,
        retries=rng.choice([0, 1, 2, 2, 4, 6]),
    )
    records = rng.randrange(300, 1200) if project.MODE != "bytes" else rng.randrange(100, 400)
    policy = (
        rng.choice(["fail", "restart", "restart"])
        if overwrite is not None
        else project.function_env()["ON_OBJECT_CHANGE"]
    )
    return ChainSpec(number, rng.randrange(1 << 30), records, rng.choice([150, 250, 400]), faults, policy)


def _committed(s3: Any, bucket: str, manifest: dict[str, Any]) -> bytes:
    return b"".join(s3.get_object(Bucket=bucket, Key=p["key"])["Body"].read() for p in manifest["parts"])


def run_chain(spec: ChainSpec, server: MotoServer, log: Any = None, max_resumes: int = 3) -> ChainResult:
    """Run one chain through the emulator and judge its committed output."""
    # Imported here: the package is importable only with src/ on the path (python -m from the project).

    layout_mod = deployed_package("layout")
    runs_mod = deployed_package("runs")
    mode = project.MODE
    res = ChainResult(spec.describe())
    versions = {v: generate(mode, spec.records, v, spec.seed) for v in ("A", "B")}
    s3 = server.client(region=project.REGION)
    bucket = f"soak-{spec.number}-{uuid.uuid4().hex[:8]}"
    make_bucket(s3, bucket, project.REGION)
    key = f"{project.INPUT_PREFIX}soak {spec.number} + ü{project.INPUT_SUFFIX}"  # URL-encoded in the event
    etag_a = s3.put_object(Bucket=bucket, Key=key, Body=versions["A"].data)["ETag"]
    fired: list[str] = []

    def before_hop(hop: int) -> None:
        if spec.faults.overwrite == hop and not fired:
            fired.append(s3.put_object(Bucket=bucket, Key=key, Body=versions["B"].data)["ETag"])

    env = {**CHAIN_ENV, "ON_OBJECT_CHANGE": spec.policy, "SOAK_RECORD_US": str(RECORD_US)}
    emulator = for_this_project(
        s3_endpoint=server.endpoint,
        env=env,
        handler="devtools.soak.slow_handler",
        timeout_ms=spec.timeout_ms,
        faults=spec.faults,
        seed=spec.seed,
        cwd=str(Path.cwd()),
        log=log,
        before_hop=before_hop,
        spare_workers=0,
    )
    run_a = layout_mod.run_id_for(bucket, key, etag_a, None)
    try:
        emulator.start()
        emulator.submit_async(s3_event(bucket, key, etag_a, len(versions["A"].data), project.REGION))
        if not emulator.run(300):
            res.notes.append("chain still running after 300 s")
        for _ in range(max_resumes + 1):
            target = _judge(s3, bucket, key, run_a, fired, spec, res, versions, layout_mod)
            if target is None:
                break
            # The cause (async retries exhausted, usually timeouts on a loaded machine) is "fixed"
            # the way an operator would: a longer timeout; then the run continues from its checkpoint.
            res.resumes += 1
            emulator.timeout_ms *= 2
            if target == REDRIVE:  # no checkpoint at all: the S3 event itself ran out of retries
                emulator.submit_async(s3_event(bucket, key, etag_a, len(versions["A"].data), project.REGION))
            else:
                emulator.submit_async(runs_mod.resume_event(bucket, target))
            emulator.run(300)
    finally:
        emulator.close()
    st = emulator.stats
    res.invocations, res.timeouts, res.kills, res.duplicates = st.invocations, st.timeouts, st.kills, st.duplicates
    res.retries, res.recycles, res.overwrites = st.retries, st.recycles, len(fired)
    return res


def _judge(
    s3: Any,
    bucket: str,
    key: str,
    run_a: str,
    fired: list[str],
    spec: ChainSpec,
    res: ChainResult,
    versions: dict[str, Generated],
    layout_mod: Any,
) -> str | None:
    """Fill `res` from what the chain committed; return a run id to resume, or None when done."""
    mode = project.MODE
    run_b = layout_mod.run_id_for(bucket, key, fired[0], None) if fired else None
    found: dict[str, dict[str, Any]] = {}
    for version, run_id in (("A", run_a), ("B", run_b)):
        if run_id is None:
            continue
        manifest = get_json(s3, bucket, f"{project.OUTPUT_PREFIX}{run_id}/manifest.json")
        if manifest is not None:
            found[version] = manifest
    outcome_a = get_json(s3, bucket, f"{project.STATE_PREFIX}runs/{run_a}/checkpoints/outcome.json")
    if "A" in found and "B" in found:
        res.notes.append("both object versions have a committed output")
    if found:
        version = "B" if "B" in found else "A"
        manifest = found[version]
        gen = versions[version]
        output = _committed(s3, bucket, manifest)
        check = check_output(mode, output, gen, version)
        ref, n, bad = single_pass(mode, gen.data, CHAIN_ENV)
        res.status, res.version, res.hops = "succeeded", version, int(manifest["hops"])
        res.records_in, res.records_out = len(gen.ids), check.records_out
        res.lost, res.duplicated, res.mixed = check.lost, check.duplicated, check.mixed
        if output != ref or (manifest["records"], manifest["bad_records"]) != (n, bad) or bad != gen.bad:
            res.differs = 1
            res.notes.append(
                f"output differs from a single pass (in order: {check.in_order}; records "
                f"{manifest['records']}/{n}, bad {manifest['bad_records']}/{bad}/{gen.bad})"
            )
        if fired and version == "A" and spec.policy == "restart" and outcome_a is not None:
            res.notes.append("run A was abandoned but also committed output")
        return None
    if fired and spec.policy == "fail" and outcome_a is not None and outcome_a.get("status") == "failed":
        error = str(outcome_a.get("error", ""))
        if "changed" in error and fired[0].strip('"') in error:
            res.status = "failed-as-expected"  # and nothing committed: records_in/out stay 0
            return None
        res.notes.append(f"run failed with an unexpected error: {error}")
    # Not finished: resume the newest run that is not terminal.
    for run_id in (run_b, run_a):
        if run_id is None:
            continue
        outcome = get_json(s3, bucket, f"{project.STATE_PREFIX}runs/{run_id}/checkpoints/outcome.json")
        if outcome is not None and outcome.get("status") == "abandoned":
            continue
        cps = s3.list_objects_v2(Bucket=bucket, Prefix=f"{project.STATE_PREFIX}runs/{run_id}/checkpoints/")
        if cps.get("KeyCount", 0):
            res.notes.append(f"resuming run {run_id} ({(outcome or {}).get('error_type', 'retries exhausted')})")
            return run_id
    # No checkpoint anywhere: hop 0 died before committing one and its retries ran out. The run
    # never started; the operator redrives the S3 event from the on-failure queue.
    res.notes.append("redriving the S3 event (no checkpoint was ever committed)")
    return REDRIVE


REDRIVE = "<redrive the S3 event>"


# -- many chains --------------------------------------------------------------------------------
COLUMNS = [
    "runs", "hops", "invocations", "timeouts", "kills", "duplicates", "retries", "recycles", "overwrites", "resumes",
    "records_in", "records_out", "lost", "duplicated", "mixed", "differs", "unfinished",
]  # fmt: skip
FAILING = ("lost", "duplicated", "mixed", "differs", "unfinished")


def totals(results: list[ChainResult]) -> dict[str, int]:
    row = dict.fromkeys(COLUMNS, 0)
    row["runs"] = len(results)
    for r in results:
        for c in COLUMNS[1:-1]:
            row[c] += int(getattr(r, c))
        row["unfinished"] += r.status == "unfinished"
    return row


def render_table(rows: dict[str, dict[str, int]]) -> str:
    """One line per label (mode), plus a total when there are several."""
    if len(rows) > 1:
        rows = {**rows, "total": {c: sum(r[c] for r in rows.values()) for c in COLUMNS}}
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows.values())) for c in COLUMNS}
    label_w = max(5, *(len(k) for k in rows))
    lines = [" ".join(["mode".ljust(label_w), *(c.rjust(widths[c]) for c in COLUMNS)])]
    for label, r in rows.items():
        lines.append(" ".join([label.ljust(label_w), *(str(r[c]).rjust(widths[c]) for c in COLUMNS)]))
    return "\n".join(lines)


def soak(runs: int, seed: int, log_path: Path | None, progress: bool = True, jobs: int = 2) -> list[ChainResult]:
    """Run `runs` seeded chains, `jobs` at a time (each with its own emulator, one shared S3)."""
    rng = random.Random(seed)
    specs = [random_spec(i, rng) for i in range(runs)]
    log = log_path.open("ab") if log_path is not None else None
    try:
        with MotoServer() as server, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:

            def one(spec: ChainSpec) -> ChainResult:
                t0 = time.monotonic()
                r = run_chain(spec, server, log=log)
                if progress:
                    bad = any(getattr(r, c) for c in FAILING[:-1]) or r.status == "unfinished"
                    print(
                        f"{'FAIL' if bad else 'ok  '} {spec.describe()} policy={spec.policy}: {r.status}/{r.version} "
                        f"hops={r.hops} kills={r.kills} dup={r.duplicates} retries={r.retries} "
                        f"resumes={r.resumes} ({time.monotonic() - t0:.1f}s)"
                        + (f" {'; '.join(r.notes)}" if r.notes and bad else ""),
                        flush=True,
                    )
                return r

            results = list(pool.map(one, specs))
    finally:
        if log is not None:
            log.close()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devtools.soak", description=__doc__.splitlines()[0] if __doc__ else None
    )
    p.add_argument("--runs", type=int, default=20, help="how many chains (default 20)")
    p.add_argument("--seed", type=int, default=1, help="seed of the chains' inputs and faults (default 1)")
    p.add_argument("--json", type=Path, default=None, help="also write the totals and each chain's result here")
    p.add_argument("--log", type=Path, default=Path(".simulate/soak.log"), help="handler + emulator log")
    p.add_argument("--jobs", type=int, default=2, help="chains run at once (default 2)")
    p.add_argument("--quiet", action="store_true", help="print only the table")
    a = p.parse_args(argv)
    if a.runs < 1:
        print("ERROR: RUNS must be >= 1", file=sys.stderr)
        return 2
    a.log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    results = soak(a.runs, a.seed, a.log, progress=not a.quiet, jobs=a.jobs)
    row = totals(results)
    print(render_table({project.MODE: row}))
    print(f"deadline overruns: {1000 * row['timeouts'] / max(row['invocations'], 1):.1f} per 1000 invocations")
    print(f"{len(results)} chains in {time.monotonic() - t0:.0f} s (seed {a.seed}); log {a.log}")
    if a.json is not None:
        doc = {"mode": project.MODE, "seed": a.seed, "totals": row, "chains": [asdict(r) for r in results]}
        a.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    failing = {c: row[c] for c in FAILING if row[c]}
    if failing:
        print(f"SOAK FAILED: {failing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
