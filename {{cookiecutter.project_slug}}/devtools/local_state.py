"""The emulator's runs, kept between commands: `make simulate` saves each run's bucket to disk
(.simulate/state), `make status` and `make resume` serve it again from a fresh local S3."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import project
from .s3_docs import make_bucket
from .s3_server import MotoServer

DEFAULT_STATE_DIR = Path(".simulate/state")


@dataclass
class LocalState:
    """A copy of one simulated run's bucket on disk: every object, plus how the function was set up."""

    path: Path
    bucket: str
    keys: dict[str, str]  # S3 key -> file name under path/objects
    env: dict[str, str] = field(default_factory=dict)
    timeout_ms: int = 900_000
    server: Any = None

    @staticmethod
    def save(
        s3: Any, bucket: str, state_dir: Path, env: dict[str, str] | None = None, timeout_ms: int = 900_000
    ) -> Path:
        """Copy every object of `bucket` to state_dir/<bucket>/ (replacing an older copy)."""
        dest = state_dir / bucket
        tmp = state_dir / f".{bucket}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "objects").mkdir(parents=True)
        keys: dict[str, str] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                name = f"{len(keys):06d}"
                (tmp / "objects" / name).write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
                keys[obj["Key"]] = name
        doc = {"bucket": bucket, "saved_at": time.time(), "keys": keys, "env": env or {}, "timeout_ms": timeout_ms}
        (tmp / "index.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        return dest

    @classmethod
    def load(cls, path: Path) -> LocalState:
        doc = json.loads((path / "index.json").read_text())
        return cls(path, doc["bucket"], doc["keys"], doc.get("env", {}), int(doc.get("timeout_ms", 900_000)))

    @classmethod
    def find(cls, state_dir: Path, run_id: str) -> LocalState | None:
        """The newest kept bucket that holds `run_id`."""
        marker = f"{project.STATE_PREFIX}runs/{run_id}/"
        found: list[LocalState] = []
        for index in state_dir.glob("*/index.json"):
            state = cls.load(index.parent)
            if any(k.startswith(marker) for k in state.keys):
                found.append(state)
        found.sort(key=lambda s: (s.path / "index.json").stat().st_mtime)
        return found[-1] if found else None

    @contextmanager
    def serve(self) -> Iterator[Any]:
        """A moto S3 server holding this bucket again (stopped on exit); yields its client."""
        with MotoServer() as server:
            self.server = server
            s3 = server.client(region=project.REGION)
            make_bucket(s3, self.bucket, project.REGION)
            for key, name in self.keys.items():
                s3.put_object(Bucket=self.bucket, Key=key, Body=(self.path / "objects" / name).read_bytes())
            try:
                yield s3
            finally:
                self.server = None
