"""Writing the history: a run is recorded ``failed`` before its scan starts and becomes ``complete`` or
``partial`` in the one transaction that writes its findings and resource states; retention drops old runs."""
from __future__ import annotations

import os
import socket

import hashlib
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from auditor.engine.findings import Finding, RunInfo
from auditor.history.database import RULE_FIELDS, _digest, _json
from auditor.history.queries import HistoryQueries
from auditor.services.model import Resource
from auditor.textsafety import encodable


class HistoryWrites(HistoryQueries):
    def begin_run(self, run: RunInfo) -> None:
        """Record the run as ``failed`` until it completes, with this process as its owner: readers show it
        ``running`` while the owner lives (queries.effective_status), and an interrupted scan stays failed."""
        row = self._run_row(run)
        row["status"] = "failed"
        row["pid"], row["host"] = os.getpid(), socket.gethostname()
        with self._write():
            self.db["runs"].insert(row)

    def mark_partial(self, run: RunInfo, reason: str) -> None:
        """A finished run whose reports could not be written: partial, with the reason among its errors."""
        run.status = "partial"
        run.errors = list(run.errors) + [reason]
        with self._write():
            self._update_run(run.id, {"status": "partial", "errors": _json(run.errors)})

    def retarget_run(self, run: RunInfo) -> None:
        """An ad-hoc run learns its identity (the account) after it is recorded; it has no findings yet."""
        with self._write():
            self._update_run(run.id, {"target": run.target})

    def fail_run(self, run: RunInfo, reason: str) -> None:
        with self._write():
            self._update_run(run.id, {"status": "failed", "finished_at": run.finished_at,
                                      "errors": _json(list(run.errors) + [reason])})

    def finish_run(self, run: RunInfo, findings: list[Finding], resources: Iterable[Resource],
                   summary: dict, packs: Iterable[Any] = ()) -> None:
        """Write a run's findings and resources and mark it complete or partial, all in one transaction."""
        with self._write():
            packs_used = [self._pack_version(pack) for pack in packs]
            seq = self._seq(run.id)
            prev = self._previous_seq(run.target, seq, statuses=("complete", "partial"))
            self._write_findings(run.target, seq, prev, findings)
            self._write_resources(run.target, seq, prev, resources)
            row = self._run_row(run)
            row.update(summary=_json(summary), score=summary.get("score"), packs_used=_json(packs_used))
            self._update_run(run.id, row)

    def _pack_version(self, pack: Any) -> dict:
        """Store the pack's files (once per content) and return its id and SHA-256."""
        files = {}
        for path in pack.files:
            files[Path(path).name] = Path(path).read_text(encoding="utf-8")
        digest = hashlib.sha256(_json(files).encode()).hexdigest()
        self.db["pack_versions"].insert({"sha256": digest, "pack_id": pack.id, "files": _json(files)},
                                        pk="sha256", ignore=True)
        return {"id": pack.id, "sha256": digest}

    def _update_run(self, run_id: str, values: dict) -> None:
        columns = [k for k in values if k != "id"]
        assignments = ", ".join(f"{c} = ?" for c in columns)
        self.db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [values[c] for c in columns] + [run_id])

    def _run_row(self, run: RunInfo) -> dict:
        data = run.model_dump(mode="json", exclude={"source_prefix", "default_source"})  # IaC-only, not stored
        for key in ("regions", "packs", "api_calls_by_service", "errors", "coverage"):
            data[key] = _json(data[key])
        return data

    def _rule_ref(self, finding: Finding) -> str:
        values = {k: getattr(finding, k) for k in RULE_FIELDS}
        values["rule_source"] = _json(finding.rule_source.model_dump()) if finding.rule_source else None
        ref = _digest(values)
        self.db["rules"].insert({"ref": ref, **values}, pk="ref", ignore=True)
        return ref

    def _write_findings(self, target: str, seq: int, prev: Optional[int], findings: list[Finding]) -> None:
        open_states: dict[str, tuple[int, str]] = {}
        if prev is not None:
            for row in self.db.execute(
                "SELECT id, key, digest FROM finding_states WHERE target = ? AND to_seq = ?", [target, prev]
            ):
                open_states[row[1]] = (row[0], row[2])
        self._store_states("finding_states", seq, open_states, self._finding_rows(target, findings))

    def _finding_rows(self, target: str, findings: list[Finding]) -> Iterator[tuple[str, dict]]:
        rule_refs: dict[str, str] = {}
        for f in findings:
            rule_key = _digest({k: getattr(f, k) for k in RULE_FIELDS})
            if rule_key not in rule_refs:
                rule_refs[rule_key] = self._rule_ref(f)
            row = {
                "target": target, "key": f.key, "rule_ref": rule_refs[rule_key], "rule_id": f.rule_id,
                "status": f.status, "resource_type": f.resource.type, "resource_id": f.resource.id,
                "resource_name": f.resource.name, "resource_region": f.resource.region, "resource_arn": f.resource.arn,
                "property": f.property, "expected": _json(f.expected), "actual": _json(f.actual),
                "message": f.message, "source": _json(f.source.model_dump() if f.source else None),
                "first_seen": f.first_seen, "waiver": _json(f.waiver),
            }
            row = {k: encodable(v) if isinstance(v, str) else v for k, v in row.items()}
            row["digest"] = _digest({k: v for k, v in row.items() if k not in ("target", "key")})
            yield encodable(f.key), row

    def _write_resources(self, target: str, seq: int, prev: Optional[int], resources: Iterable[Resource]) -> None:
        open_states: dict[tuple, tuple[int, str]] = {}
        if prev is not None:
            for row in self.db.execute(
                "SELECT id, type, region, resource_id, digest FROM resource_states WHERE target = ? AND to_seq = ?",
                [target, prev],
            ):
                open_states[(row[1], row[2], row[3])] = (row[0], row[4])
        self._store_states("resource_states", seq, open_states, self._resource_rows(target, resources))

    def _resource_rows(self, target: str, resources: Iterable[Resource]) -> Iterator[tuple[tuple, dict]]:
        for resource in resources:
            config = resource.model_dump(mode="json", exclude={"id", "name", "arn", "region", "account_id", "unknown",
                                                               "source", "defaults", "locations"})
            row = {"target": target, "type": resource.type, "region": resource.region, "resource_id": resource.id,
                   "name": resource.name, "arn": resource.arn, "config": _json(config),
                   "unknown": _json(resource.unknown)}
            row = {k: encodable(v) if isinstance(v, str) else v for k, v in row.items()}
            row["digest"] = _digest(row["name"], row["arn"], row["config"], row["unknown"])
            yield (resource.type, resource.region, row["resource_id"]), row

    def _store_states(self, table: str, seq: int, open_states: dict, rows: Iterable[tuple[Any, dict]]) -> None:
        """A state unchanged since the previous run has its range extended; a new or changed one gets a row.
        Rows arrive as a stream and are written in batches, so a large run is never held whole."""
        extend, new_rows = [], []

        def flush() -> None:
            if extend:
                marks = ",".join("?" * len(extend))
                self.db.execute(f"UPDATE {table} SET to_seq = ? WHERE id IN ({marks})", [seq, *extend])
                extend.clear()
            if new_rows:
                self.db[table].insert_all(new_rows, batch_size=1000)
                new_rows.clear()

        for key, row in rows:
            state = open_states.get(key)
            if state and state[1] == row["digest"]:
                extend.append(state[0])
            else:
                new_rows.append({**row, "from_seq": seq, "to_seq": seq})
            if len(extend) >= 500 or len(new_rows) >= 1000:
                flush()
        flush()

    def forget_target(self, target: str) -> int:
        """Every run of a target and every state of its findings and resources: a target added by mistake (or
        retired) leaves the history and the fleet page. The number of runs deleted."""
        return self.keep_last(target, 0)

    def keep_last(self, target: str, keep: int) -> int:
        """Delete all but the newest ``keep`` runs of a target, and the states no kept run uses."""
        rows = self.db.execute("SELECT seq FROM runs WHERE target = ? ORDER BY seq DESC", [target]).fetchall()
        doomed = [r[0] for r in rows[keep:]]
        if not doomed:
            return 0
        oldest_kept = rows[keep - 1][0] if keep > 0 else None
        with self._write():
            marks = ",".join("?" * len(doomed))
            self.db.execute(f"DELETE FROM runs WHERE seq IN ({marks})", doomed)
            if oldest_kept is None:
                for table in ("finding_states", "resource_states"):
                    self.db.execute(f"DELETE FROM {table} WHERE target = ?", [target])
            else:
                for table in ("finding_states", "resource_states"):
                    self.db.execute(f"DELETE FROM {table} WHERE target = ? AND to_seq < ?", [target, oldest_kept])
        return len(doomed)
