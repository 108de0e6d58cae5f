"""The soak across modes: bake the template once per processing mode, run each generated project's
`python -m devtools.soak` (seeded chains of every fault through the local emulator), and print one
table. Exits non-zero when any chain lost, duplicated or mixed records, differed from a single
pass, or did not finish.

    python soak/run_soak.py [--runs 210] [--seed 1] [--modes csv,jsonl,bytes] [--jobs 2] [--parallel]

Needs cookiecutter in the running Python; each baked project gets its own .venv (`make install`),
which runs its soak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("csv", "jsonl", "bytes")


def bake(mode: str, out: Path) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(ROOT), no_input=True, output_dir=str(out), extra_context={"processing_mode": mode}))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=210, help="chains in all, shared between the modes")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--jobs", type=int, default=2, help="chains at once within a mode")
    p.add_argument("--parallel", action="store_true", help="run the modes at the same time")
    p.add_argument("--keep", type=Path, default=None, help="bake here and keep the projects (default: a temp dir)")
    a = p.parse_args(argv)
    modes = [m for m in a.modes.split(",") if m]
    if not modes or any(m not in MODES for m in modes):
        print(f"ERROR: --modes must be a comma-separated subset of {','.join(MODES)}", file=sys.stderr)
        return 2
    per_mode = -(-a.runs // len(modes))
    work = a.keep or Path(tempfile.mkdtemp(prefix="soak-"))
    t0 = time.monotonic()
    procs = {}
    projects = []
    for mode in modes:
        project = bake(mode, work / mode)
        projects.append(project)
        out = project / ".simulate" / "soak.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["make", "--no-print-directory", "install"], cwd=project, check=True)
        python = str(project / ".venv" / "bin" / "python")
        argv_ = [python, "-m", "devtools.soak", "--runs", str(per_mode), "--seed", str(a.seed),
                 "--jobs", str(a.jobs), "--json", str(out), "--quiet"]  # fmt: skip
        log = (project / ".simulate" / "soak.out").open("w")
        procs[mode] = (subprocess.Popen(argv_, cwd=project, stdout=log, stderr=subprocess.STDOUT), out, log)
        if not a.parallel:
            procs[mode][0].wait()
    rows: dict[str, dict[str, int]] = {}
    failed = False
    for mode, (proc, out, log) in procs.items():
        proc.wait()
        log.close()
        if not out.exists():
            print(f"ERROR: the {mode} soak wrote no results (exit {proc.returncode}); see {log.name}", file=sys.stderr)
            failed = True
            continue
        doc = json.loads(out.read_text())
        rows[mode] = doc["totals"]
        failed |= proc.returncode != 0
        for chain in doc["chains"]:
            bad = chain["lost"] or chain["duplicated"] or chain["mixed"] or chain["differs"]
            if bad or chain["status"] == "unfinished":
                print(f"{mode}: {chain['spec']}: {chain['status']} {'; '.join(chain['notes'])}", file=sys.stderr)
    # The table is drawn by the generated tooling, in a project's own .venv (it has the deps).
    draw = "import json, sys; from devtools.soak import render_table; print(render_table(json.load(sys.stdin)))"
    table = subprocess.run(
        [str(projects[0] / ".venv" / "bin" / "python"), "-c", draw],
        cwd=projects[0],
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        check=True,
    )
    print(table.stdout, end="")
    total = sum(r["runs"] for r in rows.values())
    print(f"{total} chains in {time.monotonic() - t0:.0f} s (seed {a.seed}); projects in {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
