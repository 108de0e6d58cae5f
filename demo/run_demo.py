"""`make demo`: the worked example, end to end, on this machine (stdlib only; run with the root .venv).

1. bakes the default project (csv mode) into build/demo/ with cookiecutter;
2. writes a realistic sample input: seeded sales records whose quoted fields hold commas, quotes,
   newlines and non-ASCII text, CRLF line ends, and a few malformed rows to be quarantined;
3. runs the generated project's `make simulate` with a timeout short enough that the chain
   recurses many times, and again with a timeout no hop comes near (the single pass);
4. shows what happened and checks that the chain's committed output and final result equal the
   single pass, byte for byte. Exits non-zero when they differ or either run failed.

With --gzip (`make demo GZIP=1`) the chain runs on the sample gzip-compressed (sales.csv.gz, two
members): each hop resumes inside the compressed stream, and the output must still equal the
single pass over the plain file.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "build" / "demo"
SLUG = "sales-demo"

REGIONS = ["North", "South", "East", "West", "Zürich", "São Paulo", "東京", "Łódź"]
PRODUCTS = [
    "Widget",
    "Gadget, large",
    'The "Deluxe" kit',
    "Café crème",
    "Cable 2m\nwith adapter",
    "Ünïcödé pack",
    "Plain",
]
NOTES = ["", "", "", "gift", "returned, refunded", 'said "thanks"', "deliver\r\nafter 5pm", "✓ paid"]


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def bake() -> Path:
    """The default project, re-baked over any previous demo (its .venv is kept to save time)."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "cookiecutter", "--no-input", "--overwrite-if-exists", "-o", str(SCRATCH)]
    subprocess.run([*cmd, str(ROOT), f"project_slug={SLUG}", "project_name=Sales Demo"], check=True)
    project = SCRATCH / SLUG
    if not (project / "Makefile").exists():
        raise SystemExit(f"ERROR: cookiecutter did not produce {project}")
    return project


def write_sample(path: Path, target_bytes: int, seed: int) -> int:
    """Seeded sales records (same seed, same bytes); returns the number of data rows."""
    rng = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        # region first: the worked example in process.py counts rows per value of the first column.
        writer.writerow(["region", "order_id", "date", "product", "quantity", "unit_price", "note"])
        while fh.tell() < target_bytes:
            rows += 1
            if rows % 50_000 == 0:  # a malformed row: one field missing (quarantined, never processed)
                fh.write(f"North,{rows},2024-13-01,Widget,1\r\n")
                continue
            writer.writerow(
                [
                    rng.choice(REGIONS),
                    rows,
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    rng.choice(PRODUCTS),
                    rng.randint(1, 20),
                    f"{rng.uniform(0.5, 500):.2f}",
                    rng.choice(NOTES),
                ]
            )
    return rows


def gzip_sample(sample: Path) -> Path:
    """The sample as two gzip members (what `cat a.gz b.gz` makes), cut mid-record on purpose."""
    data = sample.read_bytes()
    cut = len(data) // 2 + 7
    packed = sample.with_name(sample.name + ".gz")
    packed.write_bytes(gzip.compress(data[:cut], 6, mtime=0) + gzip.compress(data[cut:], 9, mtime=0))
    return packed


def simulate(project: Path, sample: Path, timeout_ms: int, name: str) -> dict[str, object]:
    """The generated project's own `make simulate`; returns its SUMMARY."""
    out, summary = SCRATCH / f"{name}.jsonl", SCRATCH / f"{name}.summary.json"
    cmd = [
        "make", "--no-print-directory", "-C", str(project), "simulate", f"INPUT={sample}",
        f"TIMEOUT_MS={timeout_ms}", f"OUTPUT={out}", f"SUMMARY={summary}", f"SIM_LOG={SCRATCH / name}.log",
    ]  # fmt: skip
    print("$ make -C " + " ".join(cmd[3:]), flush=True)
    subprocess.run(cmd, check=False)
    if not summary.exists():
        raise SystemExit(f"ERROR: make simulate wrote no summary ({summary})")
    doc: dict[str, object] = json.loads(summary.read_text())
    doc["_output"] = str(out)
    return doc


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=30.0, help="size of the sample input in MB")
    p.add_argument(
        "--timeout-ms",
        type=int,
        default=0,
        help="function timeout for the chain (default: a twentieth of the single pass, at least 150 ms)",
    )
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--clean", action="store_true", help="start from an empty build/demo (slower)")
    p.add_argument("--gzip", action="store_true", help="run the chain on the sample gzip-compressed")
    args = p.parse_args()
    if shutil.which("make") is None:
        raise SystemExit("ERROR: make is not on PATH")
    if args.clean:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    started = time.monotonic()

    step(f"Baking the default project into {SCRATCH / SLUG}")
    project = bake()

    sample = SCRATCH / "sales.csv"
    step(f"Writing {args.mb:g} MB of sample sales records to {sample} (seed {args.seed})")
    rows = write_sample(sample, int(args.mb * 1e6), args.seed)
    print(f"{rows} rows, {sample.stat().st_size} bytes")

    step("The single pass: one invocation with a timeout no hop comes near (the project's .venv is made on first use)")
    single = simulate(project, sample, 900_000, "single")

    timeout_ms = args.timeout_ms
    if not timeout_ms:
        # Scaled to this machine's speed: about twenty hops whether it is fast or slow.
        busy_ms = sum(int(h.get("end_ms", 0)) - int(h.get("start_ms", 0)) for h in single.get("timeline", []))  # type: ignore[union-attr]
        timeout_ms = max(150, min(5000, busy_ms // 20))
    chain_input = sample
    if args.gzip:
        chain_input = gzip_sample(sample)
        print(f"gzip: {chain_input} is {chain_input.stat().st_size} bytes, two members")
    step(f"The chain: make simulate INPUT={chain_input.name} with TIMEOUT_MS={timeout_ms}")
    chain = simulate(project, chain_input, timeout_ms, "chain")

    step("What happened")
    same_output = sha256(Path(str(chain["_output"]))) == sha256(Path(str(single["_output"])))
    same_result = chain.get("result") == single.get("result")
    fetched, size = chain.get("bytes_fetched"), chain.get("object_size")
    ratio = f"{fetched / size:.3f}x" if isinstance(fetched, int) and isinstance(size, int) and size else "?"
    print(
        f"chain:       {chain['status']}, {chain['hops']} hops, {chain['records']} records "
        f"({chain['bad_records']} quarantined), {chain.get('wall_ms', 0) / 1000:.1f} s, "  # type: ignore[operator]
        f"bytes fetched {fetched} / object {size} = {ratio}, cache hits {chain.get('cache_hits')}"
    )
    print(f"single pass: {single['status']}, {single['hops']} hop(s), {single['records']} records")
    print(f"committed output identical: {same_output}   final result identical: {same_result}")
    print(f"final result: {json.dumps(chain.get('result'), ensure_ascii=False)[:300]}")
    ok = chain["status"] == single["status"] == "succeeded" and same_output and same_result
    hops = chain.get("hops")
    if ok and isinstance(hops, int) and hops < 10:
        print(f"note: only {hops} hops; a smaller --timeout-ms makes the chain recurse more")
    print(f"\ndemo {'PASSED' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s (files in {SCRATCH})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
