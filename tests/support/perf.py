"""Helpers the standalone benchmarks in tests/perf share (the pytest ones use tests/conftest.py)."""

from __future__ import annotations

import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".tmp" / "collections"


def link_collection() -> Path:
    """Make this tree importable as ansible_collections.cloud_registry.auth; returns the collections path."""
    ns = COLLECTIONS / "ansible_collections" / "cloud_registry"
    ns.mkdir(parents=True, exist_ok=True)
    link = ns / "auth"
    if not link.is_symlink():
        link.symlink_to(REPO)
    return COLLECTIONS


def task_span(task: dict) -> tuple[float, float]:
    """(start, end) as epoch seconds of one task in the ansible.posix.json callback's output."""

    def ts(value: str) -> float:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()

    duration = task["task"]["duration"]
    return ts(duration["start"]), ts(duration["end"])
