"""Print, as JSON, the top-level import names that the running interpreter's installed
distributions provide (installer tooling aside). Run with a baked project's .venv/bin/python."""

from __future__ import annotations

import importlib.metadata
import json
import sys

INSTALLERS = frozenset({"pip", "setuptools", "wheel"})


def top_level_names() -> set[str]:
    names: set[str] = set()
    for dist in importlib.metadata.distributions():
        if (dist.metadata["Name"] or "").lower() in INSTALLERS:
            continue
        for file in dist.files or []:
            first = file.parts[0]
            if first in ("..", "__pycache__") or first.endswith((".dist-info", ".data", ".pth")):
                continue
            if len(file.parts) == 1:
                if not first.endswith((".py", ".so", ".pyd")):
                    continue
                first = first.split(".")[0]
            if first.isidentifier():
                names.add(first)
    return names - set(sys.stdlib_module_names)


if __name__ == "__main__":
    print(json.dumps(sorted(top_level_names())))
