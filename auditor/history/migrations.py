"""Schema versions of the history database, applied in order; ``PRAGMA user_version`` says where a file is."""
from __future__ import annotations

from typing import Callable

import sqlite_utils

from auditor.errors import BadInput


def _script(db: sqlite_utils.Database, sql: str) -> None:
    """Statement by statement: executescript would commit the migration's transaction halfway."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
        CREATE TABLE runs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            target TEXT NOT NULL,
            account_id TEXT,
            regions TEXT,
            environment TEXT,
            packs TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            api_calls INTEGER DEFAULT 0,
            http_requests INTEGER DEFAULT 0,
            retries INTEGER DEFAULT 0,
            api_calls_by_service TEXT,
            endpoint_url TEXT,
            errors TEXT,
            summary TEXT,
            score REAL
        );
        CREATE INDEX runs_target_seq ON runs (target, seq);
        CREATE TABLE rules (
            ref TEXT PRIMARY KEY,
            rule_id TEXT, pack TEXT, title TEXT, control TEXT, severity TEXT, spec_ref TEXT, remediation TEXT
        );
        CREATE TABLE finding_states (
            id INTEGER PRIMARY KEY,
            target TEXT NOT NULL,
            key TEXT NOT NULL,
            rule_ref TEXT NOT NULL REFERENCES rules(ref),
            rule_id TEXT NOT NULL,
            status TEXT NOT NULL,
            resource_type TEXT, resource_id TEXT, resource_name TEXT, resource_region TEXT, resource_arn TEXT,
            property TEXT, expected TEXT, actual TEXT, message TEXT, source TEXT, waiver TEXT,
            first_seen TEXT,
            digest TEXT NOT NULL,
            from_seq INTEGER NOT NULL,
            to_seq INTEGER NOT NULL
        );
        CREATE INDEX finding_states_open ON finding_states (target, to_seq);
        CREATE INDEX finding_states_range ON finding_states (target, from_seq, to_seq);
        CREATE TABLE resource_states (
            id INTEGER PRIMARY KEY,
            target TEXT NOT NULL,
            type TEXT NOT NULL, region TEXT, resource_id TEXT NOT NULL, name TEXT, arn TEXT,
            config TEXT, unknown TEXT,
            digest TEXT NOT NULL,
            from_seq INTEGER NOT NULL,
            to_seq INTEGER NOT NULL
        );
        CREATE INDEX resource_states_open ON resource_states (target, to_seq);
        CREATE INDEX resource_states_range ON resource_states (target, from_seq, to_seq);
        """
    )


def _v2(db: sqlite_utils.Database) -> None:
    """Keep the exact packs each run used, so an evidence bundle can hand them over with their SHA-256."""
    _script(
        db,
        """
        CREATE TABLE pack_versions (sha256 TEXT PRIMARY KEY, pack_id TEXT NOT NULL, files TEXT NOT NULL);
        ALTER TABLE runs ADD COLUMN packs_used TEXT
        """,
    )


def _v3(db: sqlite_utils.Database) -> None:
    """Keep what each run evaluated (rules run, listings that failed), so that change is computed only against
    what both runs could see. Runs from before have none: they are taken to have seen everything."""
    db.execute("ALTER TABLE runs ADD COLUMN coverage TEXT")


def _v4(db: sqlite_utils.Database) -> None:
    """Keep where each rule is written (pack file and line), so a re-rendered report points at it as the
    original did. Rules stored before have none."""
    db.execute("ALTER TABLE rules ADD COLUMN rule_source TEXT")


def _v5(db: sqlite_utils.Database) -> None:
    """Keep a run's label (an organization account's name, shown beside ORG/ACCOUNT_ID) and OU path."""
    db.execute("ALTER TABLE runs ADD COLUMN label TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN ou TEXT")


def _v6(db: sqlite_utils.Database) -> None:
    """Keep which process records a run (pid, host), so a run still unfinished reads ``running`` while that
    process lives and ``failed``, saying so, once it is gone."""
    db.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN host TEXT")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite_utils.Database) -> None:
    """Bring the file up to SCHEMA_VERSION. Under BEGIN IMMEDIATE, so two processes (or threads) opening a new
    history at once migrate it once: the second waits, then finds it current."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise BadInput(f"history database has schema version {version}, newer than this auditor ({SCHEMA_VERSION})")
        if version == 0 and db.table_names():
            raise BadInput("file is an SQLite database but not an auditor history")
        for number in range(version, SCHEMA_VERSION):
            MIGRATIONS[number](db)
            db.execute(f"PRAGMA user_version = {number + 1}")
        db.conn.execute("COMMIT")
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
