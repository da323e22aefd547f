"""Reading the history: runs by id or prefix, a run's findings and resources, the states two runs differ in, and
each finding's past (priors) for change annotation."""
from __future__ import annotations

import copy
import json
import os
import socket
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Optional

from auditor.engine.findings import Coverage, Finding, ResourceRef, RunInfo, Sight
from auditor.errors import BadInput
from auditor.history.changes import Prior
from auditor.history.database import HistoryDatabase, _FINDING_FIELDS, _REF_FIELDS
from auditor.services.model import SourceLocation


# A run recorded on another machine cannot be asked whether its process lives: unfinished past this, it is failed.
RUNNING_AT_MOST_SECONDS = 24 * 3600


def effective_status(row: dict) -> dict:
    """The run as a reader should see it. A run is stored ``failed`` until it finishes (a crash can never leave
    it looking fine); one not finished, without a recorded reason, whose recording process still lives is
    ``running``, and one whose process is gone is failed with that said."""
    if row.get("status") != "failed" or row.get("finished_at") or row.get("errors") not in (None, "", "[]") \
            or not row.get("pid"):
        return row
    alive, why = _owner_alive(row)
    if alive:
        return {**row, "status": "running"}
    return {**row, "errors": json.dumps([why])}


def _owner_alive(row: dict) -> tuple[bool, str]:
    pid, host = int(row["pid"]), row.get("host") or "?"
    if host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False, f"the auditor process that ran it (pid {pid} on {host}) ended before the run finished " \
                          "(killed, or it crashed)"
        except PermissionError:
            pass  # a process of another user holds that pid: alive
        return True, ""
    try:
        started = datetime.fromisoformat(str(row.get("started_at")).replace("Z", "+00:00"))
        age = (datetime.now(timezone.utc) - started).total_seconds()
    except ValueError:
        age = RUNNING_AT_MOST_SECONDS + 1
    if age <= RUNNING_AT_MOST_SECONDS:
        return True, ""
    return False, f"no result from the auditor process that ran it (pid {pid} on {host}) " \
                  f"{RUNNING_AT_MOST_SECONDS // 3600} h after it started"


class HistoryQueries(HistoryDatabase):
    def pack_files(self, run_id: str) -> list[dict]:
        """The packs a run used, each with its files' text, as stored when the run was made."""
        used = json.loads(self.run_row(run_id).get("packs_used") or "[]")
        out = []
        for entry in used:
            row = self.db.execute("SELECT files FROM pack_versions WHERE sha256 = ?", [entry["sha256"]]).fetchone()
            out.append({**entry, "files": json.loads(row[0]) if row else {}})
        return out

    def _seq(self, run_id: str) -> int:
        row = self.db.execute("SELECT seq FROM runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            raise KeyError(run_id)
        return row[0]

    def _previous_seq(self, target: str, seq: int, statuses: tuple[str, ...]) -> Optional[int]:
        marks = ",".join("?" * len(statuses))
        row = self.db.execute(
            f"SELECT max(seq) FROM runs WHERE target = ? AND seq < ? AND status IN ({marks})", [target, seq, *statuses]
        ).fetchone()
        return row[0] if row else None

    def run(self, run_id: str) -> RunInfo:
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        if not rows:
            raise BadInput(f"no run {run_id!r} in {self.path}")
        return self._run_from(effective_status(rows[0]))

    def resolve_run_id(self, ref: str, target: Optional[str] = None) -> str:
        """A run named as users name them: ``latest``, ``previous`` (the run before the latest, of the same
        target), a full id, or a unique prefix of one. ``target`` narrows latest/previous and prefixes."""
        where, params = ("WHERE target = ?", [target]) if target else ("", [])
        if ref in ("latest", "previous"):
            rows = self.db.execute(f"SELECT id, target FROM runs {where} ORDER BY seq DESC LIMIT 1", params).fetchall()
            if not rows:
                raise BadInput(f"no runs{' of target ' + repr(target) if target else ''} in {self.path}")
            if ref == "latest":
                return rows[0][0]
            older = self.db.execute("SELECT id FROM runs WHERE target = ? ORDER BY seq DESC LIMIT 1 OFFSET 1",
                                    [rows[0][1]]).fetchall()
            if not older:
                raise BadInput(f"target {rows[0][1]!r} has only one run in {self.path}: no previous run")
            return older[0][0]
        exact = self.db.execute("SELECT id FROM runs WHERE id = ?", [ref]).fetchall()
        if exact:
            return ref
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clause = f"{where} AND" if where else "WHERE"
        found = [r[0] for r in self.db.execute(
            f"SELECT id FROM runs {clause} id LIKE ? ESCAPE '\\' ORDER BY seq DESC LIMIT 6", [*params, escaped + "%"])]
        if len(found) == 1:
            return found[0]
        if not found:
            raise BadInput(f"no run {ref!r} in {self.path} (use a run id, a unique prefix, latest or previous)")
        raise BadInput(f"run {ref!r} is ambiguous in {self.path}: it starts {', '.join(found[:5])}"
                       f"{' and more' if len(found) > 5 else ''}")

    def run_row(self, run_id: str) -> dict:
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        if not rows:
            raise BadInput(f"no run {run_id!r} in {self.path}")
        return effective_status(rows[0])

    @staticmethod
    def _run_from(row: dict) -> RunInfo:
        data = {k: row[k] for k in RunInfo.model_fields if k in row}
        for key in ("regions", "packs", "api_calls_by_service", "errors"):
            data[key] = json.loads(row[key]) if row.get(key) else ([] if key != "api_calls_by_service" else {})
        data["coverage"] = json.loads(row["coverage"]) if row.get("coverage") else None
        return RunInfo.model_validate(data)

    def runs(self, target: Optional[str] = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """Newest first, as rows (with score and summary)."""
        where, params = ("WHERE target = ?", [target]) if target else ("", [])
        sql = f"SELECT * FROM runs {where} ORDER BY seq DESC LIMIT ? OFFSET ?"
        return [effective_status(row) for row in self.db.query(sql, [*params, limit, offset])]

    def runs_up_to(self, run_id: str, limit: int = 30) -> list[dict]:
        """The run and the ones of its target before it, newest first."""
        row = self.run_row(run_id)
        return [effective_status(r) for r in self.db.query(
            "SELECT * FROM runs WHERE target = ? AND seq <= ? ORDER BY seq DESC LIMIT ?", [row["target"], row["seq"], limit])]

    def run_count(self, target: Optional[str] = None) -> int:
        where, params = ("WHERE target = ?", [target]) if target else ("", [])
        return self.db.execute(f"SELECT count(*) FROM runs {where}", params).fetchone()[0]

    def targets(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT target FROM runs ORDER BY target")]

    def previous_complete(self, run: RunInfo) -> Optional[RunInfo]:
        """The previous run of the target that finished (complete or partial); failed runs are skipped."""
        seq = self._seq(run.id)
        prev = self._previous_seq(run.target, seq, statuses=("complete", "partial"))
        if prev is None:
            return None
        row = list(self.db.query("SELECT * FROM runs WHERE seq = ?", [prev]))[0]
        return self._run_from(row)

    def findings(self, run_id: str) -> list[Finding]:
        """The findings of a run as they were recorded (change and first_seen as stored). A failed run recorded
        none: the states whose range spans its place belong to the runs on either side of it."""
        row = self.run_row(run_id)
        if row["status"] == "failed":
            return []
        return self._findings_at(row["target"], row["seq"])

    def _findings_at(self, target: str, seq: int) -> list[Finding]:
        return self._findings_where("f.target = ? AND f.from_seq <= ? AND f.to_seq >= ?", [target, seq, seq])

    def _findings_where(self, where: str, params: list) -> list[Finding]:
        sql = f"""SELECT f.rule_id, f.status, f.resource_type, f.resource_id, f.resource_name, f.resource_region,
                        f.resource_arn, f.property, f.expected, f.actual, f.message, f.first_seen, f.source, f.waiver,
                        r.pack, r.title, r.control, r.severity, r.spec_ref, r.remediation, r.rule_source
                 FROM finding_states f JOIN rules r ON r.ref = f.rule_ref WHERE {where} ORDER BY f.id"""
        out = []
        locations: dict[str, SourceLocation] = {}  # a rule's location repeats on each of its findings

        def location(text: Optional[str]) -> Optional[SourceLocation]:
            if not text:
                return None
            if text not in locations:
                locations[text] = SourceLocation(**json.loads(text))
            return locations[text]

        # Rows were validated when written: they are rebuilt without validating 100,000 of them again.
        for (rule_id, status, rtype, rid, rname, rregion, rarn, prop, expected, actual, message, first_seen, source,
             waiver, pack, title, control, severity, spec_ref, remediation, rule_source) in self.db.execute(sql, params):
            resource = _built(ResourceRef, {"type": rtype, "id": rid, "arn": rarn, "name": rname, "region": rregion})
            out.append(_built(Finding, {
                "rule_id": rule_id, "pack": pack, "title": title, "control": control, "severity": severity,
                "status": status, "resource": resource, "property": prop, "expected": _load(expected),
                "actual": _load(actual), "message": message, "spec_ref": spec_ref, "remediation": remediation,
                "change": "new", "first_seen": first_seen,
                "source": SourceLocation(**json.loads(source)) if source else None,
                "rule_source": location(rule_source), "waiver": _load(waiver), "superseded_by": None}))
        return out

    def differing_states(self, table: str, run_a: str, run_b: str) -> tuple[list[dict], list[dict], int]:
        """Rows of ``finding_states`` or ``resource_states`` valid at exactly one of two runs of a target, and
        the number of failing findings valid at both. Unchanged states are never read, so a diff costs what
        changed, not the size of the runs."""
        a, b = self.run_row(run_a), self.run_row(run_b)
        if a["target"] != b["target"]:
            raise BadInput(f"runs {run_a} and {run_b} audit different targets ({a['target']}, {b['target']})")
        sa, sb = a["seq"], b["seq"]
        low, high = min(sa, sb), max(sa, sb)
        sql = (f"SELECT * FROM {table} WHERE target = ? AND from_seq <= ? AND to_seq >= ? "
               "AND ((from_seq <= ? AND to_seq >= ?) + (from_seq <= ? AND to_seq >= ?)) = 1")
        only_a, only_b = [], []
        for row in self.db.query(sql, [a["target"], high, low, sa, sa, sb, sb]):
            (only_a if row["from_seq"] <= sa <= row["to_seq"] else only_b).append(row)
        both_failing = 0
        if table == "finding_states":
            both_failing = self.db.execute(
                "SELECT count(*) FROM finding_states WHERE target = ? AND status = 'fail' "
                "AND from_seq <= ? AND to_seq >= ?", [a["target"], low, high]).fetchone()[0]
        return only_a, only_b, both_failing

    def priors_at(self, run: RunInfo) -> dict[str, Prior]:
        """Status and first_seen of each finding of a run, keyed like Finding.key, without loading them whole."""
        seq = self._seq(run.id)
        sql = ("SELECT id, key, status, first_seen FROM finding_states "
               "WHERE target = ? AND from_seq <= ? AND to_seq >= ?")
        return {row[1]: Prior(row[2], row[3], row[0]) for row in self.db.execute(sql, [run.target, seq, seq])}

    def _finished_before(self, run: RunInfo) -> list[tuple[int, Sight]]:
        """The finished runs of the target before ``run``, newest first, with what each could see."""
        rows = self.db.execute(
            "SELECT seq, regions, coverage FROM runs WHERE target = ? AND seq < ? AND status IN ('complete', 'partial') "
            "ORDER BY seq DESC", [run.target, self._seq(run.id)]).fetchall()
        out = []
        for seq, regions, coverage in rows:
            regions = json.loads(regions) if regions else []
            out.append((seq, Coverage.model_validate_json(coverage).sight(regions) if coverage
                        else Sight(None, frozenset(regions))))
        return out

    def priors_for(self, run: RunInfo) -> dict[str, Prior]:
        """What the history last knew of each finding before ``run``: its state in the latest earlier run that
        could see it. A finding the previous run could not see (its rule did not run, its listing failed, its
        region was not scanned) or could not read (``error``) keeps the state it had before, first_seen included,
        so a blind night neither fixes it nor makes it new the night after."""
        finished = self._finished_before(run)
        if not finished:
            return {}
        latest_seq, latest_sight = finished[0]
        priors: dict[str, Prior] = {}
        error_since: dict[str, int] = {}
        for state_id, key, status, first_seen, from_seq in self.db.execute(
                "SELECT id, key, status, first_seen, from_seq FROM finding_states "
                "WHERE target = ? AND from_seq <= ? AND to_seq >= ?", [run.target, latest_seq, latest_seq]):
            priors[key] = Prior(status, first_seen, state_id)
            if status == "error":
                error_since[key] = from_seq

        def unseen_between(key: str, low: int, high: int) -> bool:
            """No finished run with low < seq < high saw the key: nothing found it gone in between."""
            return not any(low < seq < high and sight.sees(key) for seq, sight in finished)

        # Keys the latest run could not see: the newest earlier state of each carries over, unless a run after
        # it saw the key gone. Only such keys can carry over, so the query asks for them alone.
        blind_sql, blind_params = _blind_filter(latest_sight)
        if blind_sql:
            decided: set[str] = set(priors)
            for state_id, key, status, first_seen, to_seq in self.db.execute(
                    "SELECT id, key, status, first_seen, to_seq FROM finding_states WHERE target = ? AND to_seq < ? "
                    f"AND ({blind_sql}) ORDER BY to_seq DESC", [run.target, latest_seq, *blind_params]):
                if key in decided:
                    continue
                decided.add(key)
                if unseen_between(key, to_seq, latest_seq + 1):
                    priors[key] = Prior(status, first_seen, state_id)
        # Keys the latest runs could not read: the newest state before the errors began, if nothing in between
        # found the finding gone, stands for them (a failure that could not be checked for a night is no news).
        keys = sorted(error_since)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            decided = set()
            for state_id, key, status, first_seen, to_seq in self.db.execute(
                    f"SELECT id, key, status, first_seen, to_seq FROM finding_states WHERE target = ? "
                    f"AND key IN ({','.join('?' * len(chunk))}) AND status != 'error' AND to_seq < ? "
                    "ORDER BY to_seq DESC", [run.target, *chunk, latest_seq]):
                if key in decided or to_seq >= error_since[key]:
                    continue
                decided.add(key)
                if unseen_between(key, to_seq, error_since[key]):
                    priors[key] = Prior(status, first_seen, state_id)
        return priors

    def findings_by_state_ids(self, ids: list[int]) -> list[Finding]:
        out: list[Finding] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            out.extend(self._findings_where(f"f.id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def resources(self, run_id: str) -> dict[tuple[str, str, str], dict]:
        row = self.run_row(run_id)
        sql = ("SELECT * FROM resource_states WHERE target = ? AND from_seq <= ? AND to_seq >= ?")
        out = {}
        for r in self.db.query(sql, [row["target"], row["seq"], row["seq"]]):
            out[(r["type"], r["region"], r["resource_id"])] = {
                "name": r["name"], "arn": r["arn"], "config": json.loads(r["config"]),
                "unknown": json.loads(r["unknown"] or "{}"),
            }
        return out


def _blind_filter(sight: Sight) -> tuple[str, list]:
    """SQL over finding_states for the keys a run could not see: a rule it did not run, a region it did not scan,
    a listing that failed. Empty when it saw every key (a run from before coverage was kept)."""
    clauses, params = [], []
    if sight.rules is not None:
        marks = ",".join("?" * len(sight.rules))
        clauses.append(f"rule_id NOT IN ({marks})" if sight.rules else "1")
        params.extend(sorted(sight.rules))
    if sight.regions:
        marks = ",".join("?" * len(sight.regions))
        clauses.append(f"resource_region NOT IN ({marks})")
        params.extend(sorted(sight.regions))
    for rtype, region in sorted(sight.unlisted):
        clauses.append("(resource_type = ? AND resource_region = ?)")
        params.extend([rtype, region])
    return " OR ".join(clauses), params


def _built(model: type, values: dict) -> Any:
    """A pydantic model from values already validated (they were when stored), as ``model_construct`` builds it
    but without its per-field default lookups: at 100,000 findings that is seconds. ``values`` holds every field."""
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", _ALL_FIELDS[model])
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


_ALL_FIELDS = {Finding: _FINDING_FIELDS, ResourceRef: _REF_FIELDS}


@lru_cache(maxsize=65536)
def _load_cached(text: str) -> Any:
    return json.loads(text)


def _load(text: Optional[str]) -> Any:
    """JSON values repeat across findings ("Enabled", true, ...): decode each distinct one once."""
    if text is None:
        return None
    value = _load_cached(text)
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
