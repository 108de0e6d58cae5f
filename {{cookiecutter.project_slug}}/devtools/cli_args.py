"""Command-line values the commands share."""

from __future__ import annotations

import re


def parse_env(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SystemExit(f"ERROR: --env {item!r} must look like NAME=value")
        env[name] = value
    return env
