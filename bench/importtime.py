"""Cold import time of the handler module over `import boto3` alone, in fresh interpreters.

Run in the bench environment: `python -m bench.importtime --project P --out F`. Each sample is a new
`python` process that times the import with perf_counter (interpreter start-up excluded), with the
function's environment; the contenders rotate, after one untimed run of each (so the .pyc files
exist, as they do in a deployment package built by sam build).
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

SNIPPET = "import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"


def sample(code: str, env: dict[str, str], cwd: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(code=code)],
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
        # The handler builds its S3 and Lambda clients at import (in Lambda's init phase, so a hop's
        # timeout does not pay for them): "boto3_clients" is boto3 doing that much, for reference.
        contenders = {
            "handler": f"import {baked.PACKAGE}.handler",
            "boto3": "import boto3",
            "boto3_clients": "import boto3; boto3.client('s3'); boto3.client('lambda')",
        }
        for code in contenders.values():
            sample(code, env, Path(tmp))  # compile .pyc, warm the page cache
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(args.runs):
            names = list(contenders)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                times[name].append(sample(contenders[name], env, Path(tmp)))
    ratios = [h / b for h, b in zip(times["handler"], times["boto3"], strict=True)]
    with_clients = [h / b for h, b in zip(times["handler"], times["boto3_clients"], strict=True)]
    result = {
        "import_over_boto3": median(ratios),
        "import_over_boto3_with_clients": median(with_clients),
        "handler_ms": median(times["handler"]) * 1000,
        "boto3_ms": median(times["boto3"]) * 1000,
        "boto3_clients_ms": median(times["boto3_clients"]) * 1000,
        "runs": args.runs,
        "samples_s": times,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples_s"}, indent=2))


if __name__ == "__main__":
    main()
