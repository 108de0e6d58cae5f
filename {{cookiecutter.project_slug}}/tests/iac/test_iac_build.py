"""`sam build` (offline but for PyPI) packs only the deployed package and its runtime dependencies,
built for the function's runtime and architecture.

Runs when the SAM CLI (.venv-sam or PATH) and the runtime's Python (pythonX.Y on PATH, or from uv
or pyenv) are both here; skipped with the reason otherwise. Takes a few seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

from .stack import PROJECT, REGION, TEMPLATE, one_resource, sam_toolchain

PKG = "{{ cookiecutter.__package_name }}"
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine of EM_AARCH64, EM_X86_64
NEVER_DEPLOYED = {"boto3", "botocore", "s3transfer", "moto", "pytest", "devtools", "tests", "hypothesis"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, translated: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    fn = one_resource(translated, "AWS::Lambda::Function")[1]["Properties"]
    version = fn["Runtime"].removeprefix("python")
    sam, python = sam_toolchain(version)
    tmp = tmp_path_factory.mktemp("sam-build")
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": REGION,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proc = subprocess.run(
        [
            sam,
            "build",
            "--template",
            str(TEMPLATE),
            "--build-dir",
            str(tmp / "build"),
            "--no-cached",  # a cached build would also write .aws-sam/deps into the project
        ],
        cwd=PROJECT,  # samconfig.toml's build settings (the manifest) apply
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp / "build" / "Processor", fn


def _requirements() -> dict[str, str]:
    req = PROJECT / "src" / PKG / "requirements.txt"
    assert req.is_file(), f"{req} is missing: sam build would deploy no dependencies"
    pins = {}
    for line in req.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line!r} in {req} is not pinned"
            pins[_norm(name.split("[")[0])] = version.strip()
    return pins


def test_build_holds_only_the_package_and_its_runtime_deps(built: tuple[Path, dict[str, Any]]) -> None:
    root, _ = built
    assert (root / PKG / "handler.py").is_file()
    pins = _requirements()

    dists: dict[str, dict[str, Any]] = {}
    for info in root.glob("*.dist-info"):
        meta = Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        requires = [_norm(re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0]) for r in meta.get_all("Requires-Dist") or []]
        extra_only = [
            _norm(re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0])
            for r in meta.get_all("Requires-Dist") or []
            if "extra ==" in r
        ]
        files = {line.split(",", 1)[0].split("/", 1)[0] for line in (info / "RECORD").read_text().splitlines()}
        dists[_norm(meta["Name"])] = {
            "version": meta["Version"],
            "requires": set(requires) - set(extra_only),
            "top": files,
        }
    # the pinned requirements, at their pins
    for name, version in pins.items():
        assert name in dists, f"{name} is in requirements.txt but not in the build"
        assert dists[name]["version"] == version
    # and nothing but them and what they need
    needed, todo = set(), list(pins)
    while todo:
        name = todo.pop()
        if name in needed or name not in dists:
            continue
        needed.add(name)
        todo += dists[name]["requires"]
    assert set(dists) == needed, f"not needed at run time: {sorted(set(dists) - needed)}"
    owned = {PKG} | {top for d in dists.values() for top in d["top"]}
    entries = {p.name for p in root.iterdir()}
    assert entries <= owned, f"in the build but neither the package nor a dependency: {sorted(entries - owned)}"
    assert not {_norm(e.split(".")[0]) for e in entries} & NEVER_DEPLOYED
    assert not list(root.rglob("test_*.py")) and not list(root.rglob("conftest.py"))


def test_native_code_matches_runtime_and_architecture(built: tuple[Path, dict[str, Any]]) -> None:
    root, fn = built
    arch = fn["Architectures"][0]
    tag = "cpython-" + fn["Runtime"].removeprefix("python").replace(".", "")
    for so in root.rglob("*.so"):
        head = so.read_bytes()[:20]
        assert head[:4] == b"\x7fELF", so
        machine = int.from_bytes(head[18:20], "little")
        assert machine == ELF_MACHINE[arch], f"{so.name} is built for ELF machine {machine}, not {arch}"
        if "cpython-" in so.name:
            assert tag in so.name, f"{so.name} is not built for {fn['Runtime']}"
