"""Fixtures for the unit tests; the machinery itself lives in harness.py."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

# The handler reads its configuration and sets up its cache when it is imported: import it once
# here with a valid configuration and a private cache directory, without leaking either into the
# environment of other test folders. Each test then installs its own Config (see harness.aws).
with mock.patch.dict(
    os.environ,
    {
        "INPUT_PREFIX": "incoming/",
        "INPUT_SUFFIX": "",
        "CACHE_DIR": tempfile.mkdtemp(prefix="unit-cache-"),
        # It also builds its boto3 clients (never used here: tests patch them to moto's).
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    },
):
    from {{ cookiecutter.__package_name }} import handler  # noqa: F401

from {{ cookiecutter.__package_name }}.config import Config

from .harness import Harness, aws, make_config


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return make_config(str(tmp_path / "cache"))


@pytest.fixture
def h(cfg: Config) -> Iterator[Harness]:
    """moto S3 with a bucket, the handler configured with `cfg`, a fresh cache and a fake Lambda client."""
    with aws(cfg) as harness:
        yield harness
