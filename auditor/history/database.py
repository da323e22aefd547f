"""The history's SQLite connection: opened read-write (WAL, migrated, a busy timeout) or read-only (the server),
and the one way to write (BEGIN IMMEDIATE). Queries and writes build on it (queries.py, writes.py)."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import sqlite_utils

from auditor.engine.findings import Finding, ResourceRef
from auditor.errors import BadInput
from auditor.history.migrations import migrate

_FINDING_FIELDS = set(Finding.model_fields)
_REF_FIELDS = set(ResourceRef.model_fields)
RULE_FIELDS = ("rule_id", "pack", "title", "control", "severity", "spec_ref", "remediation")


def _json(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(_json(parts).encode(), digest_size=12).hexdigest()


class HistoryDatabase:
    def __init__(self, path: Path, read_only: bool = False):
        """``read_only`` (the server): opened with SQLite's mode=ro, so a history on a read-only volume or file
        serves as well, and nothing this process does can write to it."""
        self.path = Path(path)
        try:
            if read_only:
                self.db = self._open_read_only()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The busy timeout first: several audits of one fleet open a new history at once, and switching it
            # to WAL or migrating it must wait for the other writer, not fail with "database is locked".
            self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=30))
            self.db.execute("PRAGMA busy_timeout = 30000")
            self._with_lock_retries(self.db.enable_wal)
            self._with_lock_retries(lambda: migrate(self.db))
        except sqlite3.DatabaseError as exc:
            raise BadInput(f"{self.path}: not a usable auditor history database ({exc})") from None

    @staticmethod
    def _with_lock_retries(step: Any, attempts: int = 20) -> None:
        """Changing the journal mode does not wait on the busy handler: a concurrent first open retries."""
        for attempt in range(attempts):
            try:
                step()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _open_read_only(self) -> sqlite_utils.Database:
        from auditor.history.migrations import SCHEMA_VERSION

        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        db = sqlite_utils.Database(conn)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            db.close()
            try:  # an older history is brought up to date once, if it can be written
                HistoryDatabase(self.path).close()
            except (BadInput, sqlite3.Error, OSError) as exc:
                raise BadInput(f"{self.path}: history schema v{version} needs migrating to v{SCHEMA_VERSION}, and the "
                               f"file cannot be written ({exc}); run any auditor scan against a writable copy") from None
            return self._open_read_only()
        if version > SCHEMA_VERSION:
            raise BadInput(f"{self.path}: history database has schema version {version}, newer than this auditor")
        return db

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: take the write lock first, so a writer waits for another (busy_timeout) rather
        than failing when its read snapshot turns stale under WAL."""
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.conn.execute("ROLLBACK")
            raise
        self.db.conn.execute("COMMIT")
