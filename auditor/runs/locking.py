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


def _acquire(path: Path, what: str) -> int:
    """Open and flock the lock file; retried when the file was replaced under us (its holder removed it on the
    way out), so that two processes can never both hold a lock on different inodes of one path."""
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise TargetBusy(f"{what} is already running (pid {holder}, lock {path})") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise TargetBusy(f"{what}: lock {path} keeps changing hands")


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """An flock held for the block; the kernel drops it if the process dies, so no stale lock survives a kill.
    The file is removed on the way out (while still locked), so no lock files pile up beside the history."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, what)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def target_lock(db_path: Path, target: str):
    return exclusive(lock_path(db_path, f"target-{target}"), f"an audit of target {target!r}")
