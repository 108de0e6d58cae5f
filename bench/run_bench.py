"""`make bench`: bake every mode, measure the generated handler, print a table, write bench/results.json.

Runs with the template's .venv (cookiecutter); the measurements run in an environment of their own
(build/bench/venv) holding the generated project's pinned boto3, moto[server], aws-lambda-powertools
and orjson, created with uv when it is installed (python -m venv + pip otherwise). Each measurement
is a subprocess (bench/throughput.py, chain.py, importtime.py, rss.py); see bench/README.md.

    python -m bench.run_bench [--quick] [--modes csv,jsonl,bytes] [--skip rss,chain,...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import without_runs

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
VENV = BUILD / "venv"
MODES = ("csv", "jsonl", "bytes")
NEEDED = ("boto3", "moto", "aws-lambda-powertools", "orjson")  # pins come from the baked project

# Object sizes (bytes). Throughput: big enough that fixed per-run costs are noise, small enough for
# 5 rounds of every contender. Chain: at least 20 hops of 1000 ms with the project's own process.py.
SIZES: dict[str, dict[str, int]] = {
    "full": {
        "throughput_csv": 64_000_000,
        "throughput_jsonl": 64_000_000,
        "throughput_bytes": 256_000_000,
        "chain_csv": 96_000_000,
        "chain_jsonl": 192_000_000,
        "chain_bytes": 400_000_000,
        "rss_small": 64_000_000,
        "rss_big": 1_000_000_000,
        "overruns_csv": 32_000_000,
        "overruns_jsonl": 64_000_000,
        "overruns_bytes": 256_000_000,
        # gzip (decompressed sizes): throughput and a 1000 ms chain per mode, resume at 3 depths
        "gzip_csv": 64_000_000,
        "gzip_jsonl": 128_000_000,
        "gzip_bytes": 256_000_000,
        # gzip chains at 100 and 1000 ms through the emulator, with and without faults, against plain
        "gzip_runs_csv": 100_000_000,
        "gzip_runs_jsonl": 100_000_000,
        "gzip_runs_bytes": 100_000_000,
        # fan-out against the sequential chain (csv: the mode whose range starts are speculated)
        "fanout_csv": 48_000_000,
    },
    "quick": {
        "throughput_csv": 16_000_000,
        "throughput_jsonl": 16_000_000,
        "throughput_bytes": 64_000_000,
        "chain_csv": 8_000_000,
        "chain_jsonl": 8_000_000,
        "chain_bytes": 64_000_000,
        "rss_small": 16_000_000,
        "rss_big": 64_000_000,
        "overruns_csv": 8_000_000,
        "overruns_jsonl": 16_000_000,
        "overruns_bytes": 64_000_000,
        "gzip_csv": 8_000_000,
        "gzip_jsonl": 16_000_000,
        "gzip_bytes": 64_000_000,
        "gzip_runs_csv": 8_000_000,
        "gzip_runs_jsonl": 8_000_000,
        "gzip_runs_bytes": 16_000_000,
        "fanout_csv": 4_000_000,
    },
}
# Decompressed offsets where the gzip stage times a resume (issue: 10 MB, 100 MB, 1 GB into the object).
RESUME_AT = {"full": (10_000_000, 100_000_000, 1_000_000_000), "quick": (10_000_000, 50_000_000, 100_000_000)}
ROUNDS = {"full": 5, "quick": 2}
# Invocations per mode and hop length in the overrun measurement (at least; whole chains run).
OVERRUN_HOPS = {"full": 150, "quick": 30}
OVERRUN_TIMEOUTS = ("150", "1000")


def log(msg: str) -> None:
    print(f"[bench +{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


T0 = time.monotonic()


def bake(mode: str) -> Path:
    from cookiecutter.main import cookiecutter

    out = BUILD / f"bake-{mode}"
    shutil.rmtree(out, ignore_errors=True)
    home = BUILD / "cookiecutter-home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(home / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(home / 'replay'))}\n"
    )
    return Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context={"processing_mode": mode},
            output_dir=str(out),
            config_file=str(config),
        )
    )


def pins(project: Path) -> list[str]:
    """The project's own pins (requirements-dev.txt + the package's requirements.txt) for NEEDED."""
    files = [project / "requirements-dev.txt", *project.glob("src/*/requirements.txt")]
    found = []
    for f in files:
        for line in f.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            name = line.split("==", 1)[0].split("[", 1)[0].strip().lower()
            if name in NEEDED and line not in found:
                found.append(line)
    return found


def venv(project: Path) -> Path:
    py = VENV / "bin" / "python"
    wanted = sorted(pins(project))
    stamp = VENV / ".bench-installed"
    if py.exists() and stamp.exists() and stamp.read_text().split("\n") == wanted:
        return py
    log(f"creating {VENV.relative_to(ROOT)} with {' '.join(wanted)}")
    uv = shutil.which("uv")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    if uv:
        if not py.exists():
            subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(VENV)], check=True, env=env)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(py), *wanted], check=True, env=env)
    else:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted], check=True)
    stamp.write_text("\n".join(wanted))
    return py


def measure(py: Path, module: str, out: Path, *args: str) -> dict[str, Any]:
    """Run `python -m bench.<module>` in the bench environment; its JSON result lands in `out`."""
    logs = BUILD / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logfile = logs / f"{out.stem}.log"
    cmd = [str(py), "-m", f"bench.{module}", *args, "--out", str(out)]
    with logfile.open("w") as fh:
        rc = subprocess.run(
            cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)}
        ).returncode
    if rc != 0:
        tail = logfile.read_text()[-4000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({rc}); log {logfile}:\n{tail}")
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def machine(py: Path) -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    code = "import sys; print(sys.version.split()[0])"
    version = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": version.stdout.strip(),
        "platform": platform.platform(),
        "load_avg_at_start": load_average(),
    }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return [0.0, 0.0, 0.0]


def load_warning(load: list[float]) -> str | None:
    """Figures taken while other work shares the cores are slower and noisier: say so beside them."""
    cores = os.cpu_count() or 1
    if load[0] <= cores:
        return None
    return f"load average {load[0]:.2f} is above 1 per core ({cores} cores): other work shared the machine"


def fmt(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


GOALS: dict[str, tuple[str, float]] = {
    "csv.vs_stream_baseline": (">=", 1.4),
    "csv.vs_powertools": (">=", 1.4),
    "jsonl.vs_stream_baseline": (">=", 2.5),
    "bytes.vs_stream_baseline": (">=", 0.9),
    "csv.vs_naive": (">=", 1.5),
    "jsonl.vs_naive": (">=", 1.5),
    "csv.chain_over_single_pass": ("<=", 1.10),
    "jsonl.chain_over_single_pass": ("<=", 1.10),
    "bytes.chain_over_single_pass": ("<=", 1.10),
    **{f"{m}.fetched_over_size_{t}": ("<=", 1.05) for m in MODES for t in ("warm", "cold")},
    "init_over_boto3_clients": ("<=", 1.2),
    **{f"deadline_overruns_per_1000_hops.{t}": ("<=", 0.0) for t in OVERRUN_TIMEOUTS},
    "rss_growth_mb": ("<=", 64.0),
    "gzip.vs_stream_baseline": (">=", 1.0),
    "gzip.chain_over_single_pass": ("<=", 1.10),
    "gzip.fetched_over_compressed": ("<=", 1.05),
    "gzip.resume_deepest_over_shallowest": ("<=", 2.0),
    # >= 100 MB gzip chains at 100 and 1000 ms, with and without faults: output == the plain pass
    "gzip.emulator_runs_differing": ("<=", 0),
    "gzip.emulator_fetched_over_compressed": ("<=", 1.05),
    # N = 4 range chains with an I/O-bound process.py against the sequential chain
    "fanout.speedup_n4": (">=", 3.2),
    "fanout.hop_seconds_over_sequential": ("<=", 1.10),
    "fanout.runs_differing": ("<=", 0),  # fan-out output and result == the sequential chain's
}


def goal_status(results: dict[str, Any]) -> dict[str, str]:
    status = {}
    for path, (op, bound) in GOALS.items():
        node: Any = results
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        ok = node >= bound if op == ">=" else node <= bound
        status[path] = f"{'met' if ok else 'MISSED'} ({fmt(node)} {op} {bound})"
    return status


def table(results: dict[str, Any]) -> str:
    cols = ("vs_stream_baseline", "vs_naive", "vs_powertools", "chain_over_single_pass")
    cols2 = (
        "fetched_over_size_warm",
        "fetched_over_size_cold",
        "wire_over_size_warm",
        "wire_over_size_cold",
        "mb_per_s",
    )
    head = ["mode", *cols, *cols2]
    rows = [[m, *(fmt(results[m].get(c)) for c in (*cols, *cols2))] for m in MODES if m in results]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)] if rows else []
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.append("")
    lines.append(
        f"init_over_boto3_clients: {fmt(results.get('init_over_boto3_clients'))} "
        f"(import alone over import boto3: {fmt(results.get('import_over_boto3'))})    "
        f"rss_growth_mb: {fmt(results.get('rss_growth_mb'), 1)}"
    )
    overruns = results.get("deadline_overruns_per_1000_hops") or {}
    if overruns:
        lines.append(
            "deadline_overruns_per_1000_hops (every core busy): "
            + ", ".join(f"{t} ms: {fmt(v, 1)}" for t, v in overruns.items())
        )
    return "\n".join(lines)


def overruns(
    py: Path,
    projects: dict[str, Path],
    sizes: dict[str, int],
    hops: int,
    raw: Path,
    work: Path,
    results: dict[str, Any],
) -> None:
    """Chains at 150 and 1000 ms hops in every mode with every core busy (bench/overruns.py);
    the top-level figure pools the modes' invocations."""
    per_mode = {}
    for mode, project in projects.items():
        log(
            f"{mode}: deadline overruns with every core busy, "
            f"{sizes[f'overruns_{mode}'] / 1e6:.0f} MB, >= {hops} hops each"
        )
        per_mode[mode] = measure(
            py,
            "overruns",
            raw / f"overruns-{mode}.json",
            "--project",
            str(project),
            "--mode",
            mode,
            "--size",
            str(sizes[f"overruns_{mode}"]),
            "--timeouts",
            ",".join(OVERRUN_TIMEOUTS),
            "--hops",
            str(hops),
            "--work",
            str(work / f"overruns-{mode}"),
        )
        log(
            f"{mode}: "
            + ", ".join(
                f"{t} ms: {per_mode[mode][t]['timeouts']}/{per_mode[mode][t]['invocations']}" for t in OVERRUN_TIMEOUTS
            )
        )
    pooled = {}
    for t in OVERRUN_TIMEOUTS:
        timeouts = sum(m[t]["timeouts"] for m in per_mode.values())
        invocations = sum(m[t]["invocations"] for m in per_mode.values())
        pooled[t] = 1000 * timeouts / invocations if invocations else None
    results["deadline_overruns_per_1000_hops"] = pooled
    results["overruns"] = {mode: without_runs(doc) for mode, doc in per_mode.items()}


def gzip_stage(
    py: Path,
    projects: dict[str, Path],
    sizes: dict[str, int],
    resume_at: tuple[int, ...],
    rounds: int,
    raw: Path,
    work: Path,
    gzip_hops: str,
) -> dict[str, Any]:
    """Gzip objects: throughput against gzip.GzipFile + the same parser, a 1000 ms chain against one
    pass (and bytes fetched against the compressed size), chains at 100 and 1000 ms with and without
    faults checked against the plain object (bench/gzip_runs.py), resume time by depth, the package's size.
    Top-level figures are the worst mode's."""
    out: dict[str, Any] = {}
    for mode, project in projects.items():
        size = str(sizes[f"gzip_{mode}"])
        log(f"gzip {mode}: throughput and chain, {int(size) / 1e6:.0f} MB decompressed")
        common = ("--project", str(project), "--mode", mode, "--size", size, "--gzip")
        tp = measure(py, "throughput", raw / f"gzip-throughput-{mode}.json", *common, "--rounds", str(rounds),
                     "--work", str(work / f"gzip-{mode}"))  # fmt: skip
        # Pairs alternated, medians: one pair of a 5-7 hop chain swung 1.00 -> 1.11 for bytes (session 24).
        ch = measure(py, "chain", raw / f"gzip-chain-{mode}.json", *common, "--rounds", str(min(rounds, 3)),
                     "--work", str(work / f"gzip-{mode}"))  # fmt: skip
        runs_size = sizes[f"gzip_runs_{mode}"]
        log(f"gzip {mode}: chains of {runs_size / 1e6:.0f} MB at 1000 and 100 ms, with and without faults")
        em = measure(py, "gzip_runs", raw / f"gzip-runs-{mode}.json", "--project", str(project), "--mode", mode,
                     "--size", str(runs_size), "--work", str(work / f"gzip-runs-{mode}"),
                     "--timeouts", gzip_hops)  # fmt: skip
        out[mode] = {
            "vs_stream_baseline": tp.get("vs_stream_baseline"),
            "mb_per_s": tp.get("mb_per_s"),
            "compression_ratio": tp["object_bytes"] / tp["stored_bytes"],
            "chain_over_single_pass": ch["chain_over_single_pass"],
            "fetched_over_compressed": ch["fetched_over_size_warm"],
            "fetched_over_compressed_cold": ch["fetched_over_size_cold"],
            "chain_hops": ch["chain_hops"],
            "failures": ch["failures"],
            "emulator": em,
        }
        log(f"gzip {mode}: " + ", ".join(f"{k} {fmt(v)}" for k, v in out[mode].items() if k != "failures"))
    first = next(iter(projects))
    log(f"gzip resume ({first}): at {', '.join(f'{at / 1e6:.0f} MB' for at in resume_at)}")
    rs = measure(py, "resume", raw / "gzip-resume.json", "--project", str(projects[first]), "--mode", first,
                 "--at", ",".join(map(str, resume_at)), "--work", str(work / "gzip-resume"))  # fmt: skip
    by_size = rs["resume_ms_by_size"]
    per_mode = [out[m] for m in projects]
    out.update(
        vs_stream_baseline=min((m["vs_stream_baseline"] or 0.0) for m in per_mode),
        chain_over_single_pass=max((m["chain_over_single_pass"] or float("inf")) for m in per_mode),
        fetched_over_compressed=max((m["fetched_over_compressed"] or float("inf")) for m in per_mode),
        emulator_runs=sum(m["emulator"]["runs"] for m in per_mode),
        emulator_runs_differing=sum(m["emulator"]["runs"] - m["emulator"]["runs_equal_to_plain"] for m in per_mode),
        emulator_fetched_over_compressed=max(
            (m["emulator"]["fetched_over_compressed"] or float("inf")) for m in per_mode
        ),
        resume_ms_by_size=by_size,
        resume_deepest_over_shallowest=by_size[str(max(resume_at))] / by_size[str(min(resume_at))],
        resume=without_samples(rs),
        package_mb=package_mb(py, projects[first]),
    )
    log(
        f"gzip: resume ms {', '.join(f'{int(k) / 1e6:.0f} MB {v:.1f}' for k, v in by_size.items())}; "
        f"package {out['package_mb']:.1f} MB"
    )
    return out


def fanout_stage(py: Path, project: Path, size: int, raw: Path, work: Path) -> dict[str, Any]:
    """N = 4 range chains against the sequential chain, I/O-bound and CPU-bound (bench/fanout_runs.py);
    the goals are the I/O-bound figures, the CPU-bound ones are reported as they are (2 cores)."""
    log(f"fanout: csv, {size / 1e6:.0f} MB, sequential chain and 4 range chains, I/O- and CPU-bound")
    fo = measure(py, "fanout_runs", raw / "fanout.json", "--project", str(project), "--mode", "csv",
                 "--size", str(size), "--ranges", "4", "--work", str(work / "fanout"))  # fmt: skip
    io = fo["io_bound"]
    out = {
        "speedup_n4": io["speedup"],
        "hop_seconds_over_sequential": io["hop_seconds_over_sequential"],
        "cpu_bound": {k: fo["cpu_bound"][k] for k in ("speedup", "hop_seconds_over_sequential")},
        "runs_differing": sum(bool(fo[w]["differences"]) for w in ("io_bound", "cpu_bound")),
        "runs": fo,
    }
    log(f"fanout: speedup_n4 {fmt(out['speedup_n4'])}, hop seconds over sequential "
        f"{fmt(out['hop_seconds_over_sequential'])}; CPU-bound {out['cpu_bound']}")  # fmt: skip
    return out


def without_samples(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "samples_ms"}


def package_mb(py: Path, project: Path) -> float:
    """What `sam build` puts in the function's package, unzipped: the project's package and the files
    of its pinned runtime requirements (as installed in the bench environment). Gzip adds no library:
    zlib comes with the runtime."""
    (package,) = [p for p in (project / "src").iterdir() if (p / "requirements.txt").exists()]
    names = [
        line.split("#", 1)[0].split("==", 1)[0].strip()
        for line in (package / "requirements.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    code = (
        "import importlib.metadata as m, sys\n"
        "total = 0\n"
        "for name in sys.argv[1:]:\n"
        "    for f in m.distribution(name).files or []:\n"
        "        p = f.locate()\n"
        "        if p.is_file() and '__pycache__' not in p.parts:\n"
        "            total += p.stat().st_size\n"
        "print(total)\n"
    )
    deps = int(subprocess.run([str(py), "-c", code, *names], check=True, capture_output=True, text=True).stdout)
    own = sum(f.stat().st_size for f in package.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    return (deps + own) / 1e6


STAGES = ("throughput", "chain", "import", "rss", "gzip", "fanout", "overruns")
NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def updated(previous: dict[str, Any], fresh: dict[str, Any], this_run: dict[str, Any]) -> dict[str, Any]:
    """`previous` with what this run measured in place of its figures (a mode's entry key by key,
    so its throughput stays when only its chain ran again); `runs` lists every run the file now
    draws on, the earlier one named by what it measured."""
    run_keys = ("machine", "load_warning", "elapsed_s", "runs", "goals")
    out = {k: v for k, v in previous.items() if k not in run_keys}
    for key, value in fresh.items():
        if key not in run_keys:
            old = out.get(key)
            out[key] = {**old, **value} if key in MODES and isinstance(old, dict) else value
    runs = previous.get("runs") or [
        {k: previous.get(k) for k in ("machine", "load_warning", "elapsed_s")} | {"stages": "all the others"}
    ]
    return {"machine": previous.get("machine"), **out, "load_warning": previous.get("load_warning"),
            "elapsed_s": previous.get("elapsed_s"), "runs": [*runs, this_run]}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small objects, 2 rounds (a smoke run, not for numbers)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--skip", default="", help="comma-separated: throughput,chain,gzip,fanout,overruns,import,rss")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    ap.add_argument("--gzip-hops", default="1000,100", help="gzip emulator runs: hop timeouts in ms")
    ap.add_argument(
        "--update",
        action="store_true",
        help="keep what --out holds for the stages skipped here (results.json's `runs` says which run measured what)",
    )
    args = ap.parse_args()
    preset = "quick" if args.quick else "full"
    sizes, rounds = SIZES[preset], ROUNDS[preset]
    skip = set(filter(None, args.skip.split(",")))
    modes = [m for m in args.modes.split(",") if m]
    BUILD.mkdir(parents=True, exist_ok=True)
    raw = BUILD / "raw"
    raw.mkdir(exist_ok=True)
    work = BUILD / "work"
    shutil.rmtree(work, ignore_errors=True)

    projects = {}
    for mode in modes:
        projects[mode] = bake(mode)
        log(f"baked {mode}: {projects[mode].relative_to(ROOT)}")
    py = venv(projects[modes[0]])
    results: dict[str, Any] = {"machine": machine(py), "preset": preset, "rounds": rounds}
    log(f"machine: {results['machine']}")
    if warning := load_warning(results["machine"]["load_avg_at_start"]):
        log(f"WARNING: {warning}")
    for mode in modes:
        project = str(projects[mode])
        entry: dict[str, Any] = results.setdefault(mode, {})
        if "throughput" not in skip:
            log(f"{mode}: throughput, {sizes[f'throughput_{mode}'] / 1e6:.0f} MB, {rounds} rounds")
            tp = measure(
                py,
                "throughput",
                raw / f"throughput-{mode}.json",
                "--project",
                project,
                "--mode",
                mode,
                "--size",
                str(sizes[f"throughput_{mode}"]),
                "--rounds",
                str(rounds),
                "--work",
                str(work / mode),
            )
            for k in (
                "vs_stream_baseline",
                "vs_naive",
                "vs_powertools",
                "mb_per_s",
                "vs_stream_baseline_cpu",
                "vs_naive_cpu",
                "vs_powertools_cpu",
            ):
                if k in tp:
                    entry[k] = tp[k]
            entry["throughput"] = {k: v for k, v in tp.items() if k not in ("seconds", "cpu_s")}
            log(
                f"{mode}: "
                + ", ".join(
                    f"{k} {fmt(entry.get(k))}" for k in ("vs_stream_baseline", "vs_naive", "vs_powertools", "mb_per_s")
                )
            )
        if "chain" not in skip:
            log(f"{mode}: chain, {sizes[f'chain_{mode}'] / 1e6:.0f} MB")
            ch = measure(
                py,
                "chain",
                raw / f"chain-{mode}.json",
                "--project",
                project,
                "--mode",
                mode,
                "--size",
                str(sizes[f"chain_{mode}"]),
                "--work",
                str(work / mode),
            )
            for k in (
                "chain_over_single_pass",
                "fetched_over_size_warm",
                "fetched_over_size_cold",
                "wire_over_size_warm",
                "wire_over_size_cold",
            ):
                entry[k] = ch[k]
            entry["chain"] = {k: v for k, v in ch.items() if k != "runs"}
            log(
                f"{mode}: "
                + ", ".join(
                    f"{k} {fmt(entry.get(k))}"
                    for k in ("chain_over_single_pass", "fetched_over_size_warm", "fetched_over_size_cold")
                )
                + f" ({ch['chain_hops']} hops)"
                + (f"; FAILED runs: {ch['failures']}" if ch["failures"] else "")
            )
    first = str(projects[modes[0]])
    if "import" not in skip:
        log("import time")
        imp = measure(py, "importtime", raw / "import.json", "--project", first, "--runs", "11" if rounds > 2 else "3")
        results["import_over_boto3"] = imp["import_over_boto3"]
        results["init_over_boto3_clients"] = imp["import_over_boto3_with_clients"]
        results["import"] = {k: v for k, v in imp.items() if k != "samples_s"}
    if "rss" not in skip:
        log(f"rss: {sizes['rss_small'] / 1e6:.0f} MB and {sizes['rss_big'] / 1e6:.0f} MB objects ({modes[0]})")
        rss = measure(
            py,
            "rss",
            raw / "rss.json",
            "--project",
            first,
            "--mode",
            modes[0],
            "--sizes",
            f"{sizes['rss_small']},{sizes['rss_big']}",
            "--work",
            str(work / "rss"),
        )
        results["rss_growth_mb"] = rss["rss_growth_mb"]
        results["rss"] = rss
    if "gzip" not in skip:
        results["gzip"] = gzip_stage(py, projects, sizes, RESUME_AT[preset], rounds, raw, work, args.gzip_hops)
    if "fanout" not in skip and "csv" in projects:
        results["fanout"] = fanout_stage(py, projects["csv"], sizes["fanout_csv"], raw, work)
    # The load the timed measurements shared the machine with; the overrun stage, last, loads it on purpose.
    load_at_end = load_average()
    if "overruns" not in skip:
        overruns(py, projects, sizes, OVERRUN_HOPS[preset], raw, work, results)
    shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_avg_at_end"] = load_at_end
    warnings = [w for w in map(load_warning, (results["machine"]["load_avg_at_start"], load_at_end)) if w]
    results["load_warning"] = warnings[-1] if warnings else None
    results["elapsed_s"] = round(time.monotonic() - T0, 1)
    ran = [s for s in STAGES if s not in skip]
    this_run = {k: results[k] for k in ("machine", "load_warning", "elapsed_s")} | {"stages": ran, "at": NOW}
    if args.update and args.out.exists():
        results = updated(json.loads(args.out.read_text()), results, this_run)
    else:
        results["runs"] = [this_run]
    results["goals"] = goal_status(results)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print()
    for k, v in results["goals"].items():
        print(f"  {k}: {v}")
    if this_run["load_warning"]:
        print(f"\nWARNING: {this_run['load_warning']}; these figures are not comparable to a quiet run's")
    machine_now = this_run["machine"]
    print(
        f"\nmachine: {machine_now['cpu_model']}, {machine_now['cores']} cores, "
        f"Python {machine_now['python']}; {this_run['elapsed_s']:.0f} s; wrote {args.out}"
        + (f" (stages {', '.join(ran)}; the rest kept)" if args.update else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
