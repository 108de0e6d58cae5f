"""Cold import time of the handler module over `import boto3` alone, in fresh interpreters.

Run in the bench environment: `python -m bench.importtime --project P --out F`. Each sample is a new
`python` process that times one import statement with perf_counter (interpreter start-up excluded),
with the function's environment; the two imports alternate, after one untimed run of each (so the
.pyc files exist, as they do in a deployment package built by sam build).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import lambda_env, median

SNIPPET = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def sample(module: str, env: dict[str, str], cwd: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(module=module)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    project: Path = args.project.resolve()
    sys.path[:0] = [str(project)]
    from devtools import project as baked

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")},
            **lambda_env(project, "http://127.0.0.1:9", Path(tmp) / "etag-cache"),
            "PYTHONPATH": str(project / "src"),
        }
        handler = f"{baked.PACKAGE}.handler"
        contenders = {"handler": handler, "boto3": "boto3"}
        for module in contenders.values():
            sample(module, env, Path(tmp))  # compile .pyc, warm the page cache
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(args.runs):
            order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
            for name in order:
                times[name].append(sample(contenders[name], env, Path(tmp)))
    ratios = [h / b for h, b in zip(times["handler"], times["boto3"], strict=True)]
    result = {
        "import_over_boto3": median(ratios),
        "handler_ms": median(times["handler"]) * 1000,
        "boto3_ms": median(times["boto3"]) * 1000,
        "runs": args.runs,
        "samples_s": times,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples_s"}, indent=2))


if __name__ == "__main__":
    main()
