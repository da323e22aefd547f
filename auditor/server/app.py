"""``auditor serve``: a read-only web app over the history: pages, report downloads, an evidence bundle and a
JSON API. Every route but /healthz asks for the token (bearer header, or the session cookie /login trades it
for). Ids are looked up in the database and never become file paths, so no request reaches a file outside it.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from urllib.parse import parse_qs, quote
from pathlib import Path
from typing import Optional

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from auditor import __version__
from auditor.errors import BadInput
from auditor.history.diff import diff_runs
from auditor.history.store import HistoryStore
from auditor.history.timeline import finding_timeline, resource_history
from auditor.reporting.html import environment, render_html
from auditor.reporting.rerender import stored_document, without_gc_pauses
from auditor.reporting.rollup import SEVERITIES, fleet_view, target_view
from auditor.reporting.writers import WRITERS, render
from auditor.server.query import BadQuery, FINDING_PARAMS, check_params, finding_filters, finding_matches, int_param
from auditor.server.sessions import (SECURITY_HEADERS, LoginGuard, Sessions, TokenGate, from_own_page, safe_next,
                                     same_secret, wants_html)

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json", "csv": "text/csv; charset=utf-8",
                 "excel": "text/csv; charset=utf-8",
                 "sarif": "application/sarif+json", "junit": "application/xml", "ocsf": "application/json",
                 "asff": "application/json"}


class NotFound(Exception):
    pass


def create_app(db_path: Path, token: str, cookie_secure: bool = False, rules_dir: Optional[Path] = None,
               spec_folders: tuple[Path, ...] = (), session_hours: float = 8,
               signing_key: Optional[Path] = None) -> Starlette:
    """``signing_key``: the Ed25519 key evidence bundles are signed with (by default beside the history), read
    or made when the first bundle is asked for: a server on a read-only volume starts and serves, and only a
    bundle it cannot sign is an error (503, saying why). Logouts are kept in ``<db>.sessions.json``."""
    from auditor.reporting.evidence import build_bundle, load_or_create_key

    db_path = Path(db_path)
    pages = environment()
    sessions = Sessions(token, session_hours, cookie_secure, db_path.with_name(db_path.name + ".sessions.json"))
    guard = LoginGuard()
    key_path = Path(signing_key or db_path.with_name(db_path.name + ".signing-key.pem"))
    keys: dict = {}

    def signing() -> object:
        if "key" not in keys:
            keys["key"] = load_or_create_key(key_path)  # BadInput names the path and why
        return keys["key"]

    def store() -> HistoryStore:
        if not db_path.exists():
            raise NotFound("no history yet")
        return HistoryStore(db_path, read_only=True)  # the server never writes: a read-only file serves too

    def run_id_of(request: Request) -> str:
        run_id = request.path_params["run_id"]
        if not RUN_ID.match(run_id):
            raise NotFound(run_id)
        return run_id

    @lru_cache(maxsize=4)
    def finished_document(run_id: str) -> dict:
        return unfinished_document(run_id)

    def unfinished_document(run_id: str) -> dict:
        history = store()
        try:
            with without_gc_pauses():
                return stored_document(history, run_id)
        except BadInput:
            raise NotFound(run_id) from None
        finally:
            history.close()

    def document(run_id: str) -> dict:
        """Cached only once the run has finished: a run read while it is being written is read again later."""
        history = store()
        try:
            row = history.db.execute("SELECT finished_at FROM runs WHERE id = ?", [run_id]).fetchone()
        finally:
            history.close()
        if row is None:
            raise NotFound(run_id)
        return finished_document(run_id) if row[0] else unfinished_document(run_id)

    def page(name: str, status_code: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(pages.get_template(name).render(**context), status_code=status_code,
                            headers=SECURITY_HEADERS)

    def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def login(request: Request) -> Response:
        """GET: the form. POST: the token, from the form's body (never the URL); a wrong one shows the form again."""
        next_path = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return page("server_login.html.j2", next_path=next_path, problem=None, anonymous=True)
        if not from_own_page(request):
            return page("server_login.html.j2", status_code=403, next_path=next_path, anonymous=True,
                        problem="The login form must be sent from this server's own login page.")
        client = request.client.host if request.client else "?"
        wait = guard.retry_after(client)
        if wait:
            response = page("server_login.html.j2", status_code=429, next_path=next_path, anonymous=True,
                            problem=f"Too many wrong tokens from this address: try again in {wait} s.")
            response.headers["Retry-After"] = str(wait)
            return response
        form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
        given = (form.get("token") or [""])[0]
        next_path = safe_next((form.get("next") or [next_path])[0])
        if not given or not same_secret(given, token):
            guard.failed(client)
            return page("server_login.html.j2", status_code=401, next_path=next_path, anonymous=True,
                        problem="That token is not the one this server was started with.")
        guard.succeeded(client)
        return sessions.login_response(request, next_path)

    def logout(request: Request) -> Response:
        return sessions.logout_response(request)

    def reading(fn):
        """Run ``fn(history)`` on a read-only history, closed after; a missing history is 404."""
        history = store()
        try:
            return fn(history)
        except BadInput as exc:
            raise NotFound(str(exc)) from None
        finally:
            history.close()

    def index(request: Request) -> Response:
        check_params(request, ())
        if not db_path.exists():
            return page("server_index.html.j2", fleet={"targets": [], "totals": {"targets": 0}, "generated_at": ""},
                        severities=SEVERITIES, served=True)
        return page("server_index.html.j2", fleet=reading(fleet_view), severities=SEVERITIES, served=True)

    def target_runs(request: Request) -> Response:
        target = request.path_params["target"]
        limit = int_param(request, "limit", 100, 1, 1000)

        def read(history: HistoryStore):
            return target_view(history, target), [run_summary(r) for r in history.runs(target, limit=limit)]

        view, runs = reading(read)
        if not runs or view is None:
            raise NotFound(target)
        for i, r in enumerate(runs):  # "since previous": the previous run that finished, not a failed one
            r["previous_finished"] = next((o["id"] for o in runs[i + 1:] if o["status"] != "failed"), None)
        from auditor.rules.load import PackFileSet

        with_spec = {p.id for p in PackFileSet(rules_dir).load_all() if p.header.spec}
        spec_packs = sorted({pack for r in runs for pack in r["packs"]} & with_spec)
        return page("server_target.html.j2", target=target, view=view, runs=runs, formats=list(CONTENT_TYPES),
                    spec_packs=spec_packs, severities=SEVERITIES)

    def timeline_of(request: Request, shape: str) -> tuple[str, str]:
        """``target=`` and ``key=`` of a timeline page, the key made of the parts ``shape`` names."""
        check_params(request, ("target", "key"))
        target, key = request.query_params.get("target", ""), request.query_params.get("key", "")
        if not target or key.count("|") < shape.count("|"):
            raise BadQuery(f"give target= and key={shape}")
        return target, key

    def finding_timeline_page(request: Request) -> Response:
        target, key = timeline_of(request, "RULE|TYPE|REGION|RESOURCE_ID")
        return page("server_finding_timeline.html.j2", t=reading(lambda h: finding_timeline(h, target, key)))

    def resource_history_page(request: Request) -> Response:
        target, key = timeline_of(request, "TYPE|REGION|RESOURCE_ID")
        return page("server_resource_history.html.j2", h=reading(lambda h: resource_history(h, target, key)))

    def run_page(request: Request) -> Response:
        return RedirectResponse(f"/runs/{run_id_of(request)}/report.html", status_code=303)

    def report_file(request: Request) -> Response:
        run_id, fmt = run_id_of(request), request.path_params["fmt"]
        if fmt not in CONTENT_TYPES:
            raise NotFound(fmt)
        doc = document(run_id)
        if fmt == "html":  # served: a way back, and each finding links its timeline and its resource's history
            target = quote(doc["run"]["target"], safe="")
            body = render_html(doc, links={"finding": f"/timeline/finding?target={target}&key=",
                                           "resource": f"/timeline/resource?target={target}&key=",
                                           "target": f"/targets/{quote(doc['run']['target'])}"}).encode()
        else:
            body = render(doc, fmt)
        headers = dict(SECURITY_HEADERS)
        if fmt != "html":
            headers["Content-Disposition"] = f'attachment; filename="{run_id}-{WRITERS[fmt][0]}"'
        return Response(body, media_type=CONTENT_TYPES[fmt], headers=headers)

    def evidence(request: Request) -> Response:
        run_id = run_id_of(request)
        doc = document(run_id)
        if doc["run"]["status"] == "running":
            return JSONResponse({"error": f"run {run_id} is still running: no evidence to bundle yet"},
                                status_code=409, headers=SECURITY_HEADERS)
        if doc["run"]["status"] == "failed":
            # Evidence of what? A failed run checked nothing; its report says why.
            return JSONResponse({"error": f"run {run_id} failed: no evidence to bundle",
                                 "reasons": doc["run"].get("errors") or []}, status_code=409, headers=SECURITY_HEADERS)
        try:
            key = signing()
        except BadInput as exc:
            return JSONResponse({"error": f"evidence bundles cannot be signed: {exc}"}, status_code=503,
                                headers=SECURITY_HEADERS)
        history = store()
        try:
            data = build_bundle(history, run_id, doc, key)
        finally:
            history.close()
        return Response(data, media_type="application/zip", headers={
            **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{run_id}-evidence.zip"'})

    def diff_page(request: Request) -> Response:
        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        if not (RUN_ID.match(a) and RUN_ID.match(b)):
            raise NotFound(a or b)
        history = store()
        try:
            diff = diff_runs(history, a, b)
        except BadInput:
            raise NotFound(f"{a} {b}") from None
        finally:
            history.close()
        return page("server_diff.html.j2", diff=diff)

    def spec_index(request: Request) -> Response:
        from auditor.rules.load import PackFileSet

        packs = [p for p in PackFileSet(rules_dir).load_all() if p.header.spec]
        return page("server_spec_index.html.j2", packs=packs)

    def spec_page(request: Request) -> Response:
        """The traceability matrix of one pack; ``?target=`` (its latest run) or ``?run=`` adds the verdicts."""
        from auditor.reporting.spec_coverage import matrix_for
        from auditor.rules.load import PackFileSet

        pack_files = PackFileSet(rules_dir)
        pack_id = request.path_params["pack"]
        if pack_id not in pack_files.available():
            raise NotFound(pack_id)
        (pack,) = pack_files.load([pack_id])
        if not pack.header.spec:
            raise NotFound(pack_id)
        run_ref, target = request.query_params.get("run"), request.query_params.get("target")
        findings, run_id = None, None
        if run_ref or target:
            if run_ref and not RUN_ID.match(run_ref):
                raise NotFound(run_ref)
            history = store()
            try:
                run_id = history.resolve_run_id(run_ref or "latest", target)
                findings = history.findings(run_id)
            except BadInput:
                raise NotFound(run_ref or target) from None
            finally:
                history.close()
        return page("server_spec.html.j2", matrices=[matrix_for(pack, list(spec_folders), findings, run_id)],
                    spec_folders=[str(f) for f in spec_folders])

    def api_runs(request: Request) -> Response:
        check_params(request, ("target", "limit", "offset"))
        limit, offset = int_param(request, "limit", 50, 1, 1000), int_param(request, "offset", 0, 0, 10**9)
        if not db_path.exists():
            return JSONResponse([], headers={**SECURITY_HEADERS, "X-Total-Count": "0"})
        history = store()
        try:
            target = request.query_params.get("target")
            rows = history.runs(target, limit, offset)
            total = history.run_count(target)
        finally:
            history.close()
        return JSONResponse([run_summary(r) for r in rows], headers={**SECURITY_HEADERS, "X-Total-Count": str(total)})

    def api_run(request: Request) -> Response:
        check_params(request, ())
        doc = document(run_id_of(request))
        return JSONResponse({"run": doc["run"], "summary": doc["summary"], "history": doc["history"],
                             "waivers": doc["waivers"]}, headers=SECURITY_HEADERS)

    def api_findings(request: Request) -> Response:
        """Filters (repeat a parameter, or comma-separate, for several values), ``q`` to search, ``limit`` and
        ``offset`` to page; X-Total-Count is the number that matched before paging."""
        check_params(request, FINDING_PARAMS)
        filters, text = finding_filters(request), request.query_params.get("q", "").strip()
        limit, offset = int_param(request, "limit", 100_000, 1, 1_000_000), int_param(request, "offset", 0, 0, 10**9)
        findings = [f for f in document(run_id_of(request))["findings"] if finding_matches(f, filters, text)]
        return JSONResponse(findings[offset:offset + limit],
                            headers={**SECURITY_HEADERS, "X-Total-Count": str(len(findings))})

    def error(request: Request, status: int, message: str) -> Response:
        """HTML for a person in a browser, JSON for the API and scripts."""
        if wants_html(request):
            return page("server_error.html.j2", status_code=status, status=status, message=message)
        return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)

    async def bad_query(request: Request, exc: Exception) -> Response:
        return error(request, 400, f"bad request: {exc}")

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(request, 404, "not found")

    async def read_only(request: Request, exc: Exception) -> Response:
        return error(request, 405, "method not allowed: this server is read-only")

    routes = [
        Route("/healthz", healthz), Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["GET", "POST"]), Route("/", index),
        Route("/targets/{target:path}", target_runs), Route("/timeline/finding", finding_timeline_page),
        Route("/timeline/resource", resource_history_page), Route("/runs/{run_id}", run_page),
        Route("/runs/{run_id}/report.{fmt}", report_file), Route("/runs/{run_id}/evidence.zip", evidence),
        Route("/diff", diff_page), Route("/api/runs", api_runs), Route("/api/runs/{run_id}", api_run),
        Route("/api/runs/{run_id}/findings", api_findings), Route("/spec", spec_index), Route("/spec/{pack}", spec_page),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TokenGate, sessions=sessions)],
                     exception_handlers={NotFound: not_found, BadQuery: bad_query, 404: not_found,
                                         405: read_only})


def run_summary(row: dict) -> dict:
    summary = json.loads(row["summary"]) if row.get("summary") else {}
    failed = row["status"] in ("failed", "running")  # neither has a score or counts
    return {"id": row["id"], "target": row["target"], "environment": row["environment"],
            "started_at": row["started_at"], "finished_at": row["finished_at"], "status": row["status"],
            "score": None if failed else row["score"], "by_status": None if failed else summary.get("by_status"),
            "api_calls": row["api_calls"], "packs": json.loads(row["packs"] or "[]"),
            "regions": json.loads(row["regions"] or "[]"), "errors": json.loads(row.get("errors") or "[]"),
            "coverage": json.loads(row["coverage"]) if row.get("coverage") else None}


def serve(db_path: Path, host: str, port: int, token: Optional[str], announce, cookie_secure: bool = False,
          rules_dir: Optional[Path] = None, spec_folders: tuple[Path, ...] = (), session_hours: float = 8,
          signing_key: Optional[Path] = None) -> None:
    import secrets

    import uvicorn

    made = not token
    token = token or secrets.token_urlsafe(32)
    app = create_app(db_path, token, cookie_secure, rules_dir, spec_folders, session_hours, signing_key)
    if made:
        announce(f"no AUDITOR_TOKEN set; log in at http://{host}:{port}/login with the token {token}")
    else:
        announce(f"serving {db_path} on http://{host}:{port}/ (token from AUDITOR_TOKEN)")
    # No access log: it has nothing to add for a read-only server, and logs are not a place for URLs.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
