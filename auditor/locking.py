"""One audit of a target at a time, across threads and processes (scan, schedule, schedule --once)."""
from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from auditor.errors import AuditIncomplete


class TargetBusy(AuditIncomplete):
    """Another process or thread is auditing the same target right now."""


def lock_path(db_path: Path, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return Path(db_path).parent / f".{Path(db_path).name}.{safe}.lock"


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """An flock held for the block; the kernel drops it if the process dies, so no stale lock survives a kill."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise TargetBusy(f"{what} is already running (pid {holder}, lock {path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def target_lock(db_path: Path, target: str):
    return exclusive(lock_path(db_path, f"target-{target}"), f"an audit of target {target!r}")
