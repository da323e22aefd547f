"""``auditor serve``: a read-only web app over the history: pages, report downloads, an evidence bundle and a
JSON API. Every route but /healthz asks for the token (bearer header, or the session cookie /login trades it
for). Ids are looked up in the database and never become file paths, so no request reaches a file outside it.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Optional

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from auditor import __version__
from auditor.errors import BadInput
from auditor.findings import utc_now
from auditor.history.diff import diff_runs
from auditor.history.store import HistoryStore
from auditor.reporting.html import environment, trend_points
from auditor.reporting.rerender import stored_document
from auditor.reporting.writers import WRITERS

COOKIE = "auditor_session"
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json", "csv": "text/csv; charset=utf-8",
                 "sarif": "application/sarif+json", "junit": "application/xml"}
FINDING_FILTERS = ("status", "control", "severity", "pack", "change")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                    "X-Frame-Options": "DENY"}


def session_value(token: str) -> str:
    """The cookie proves knowledge of the token without carrying it."""
    return hmac.new(token.encode(), b"auditor-session-v1", hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of credentials of any characters: as bytes, so a non-ASCII header, cookie or
    form value is a plain mismatch (401), never a TypeError (500)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A numeric query parameter, clamped to [low, high]; anything else is a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, got {raw[:40]!r}") from None
    return max(low, min(high, value))


class BadQuery(Exception):
    pass


class TokenGate:
    """ASGI middleware: /healthz and /login are open; everything else needs the bearer token or the cookie."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token
        self.session = session_value(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ("/healthz", "/login"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else ""
        cookie = request.cookies.get(COOKIE, "")
        if (bearer and same_secret(bearer, self.token)) or (cookie and same_secret(cookie, self.session)):
            await self.app(scope, receive, send)
            return
        response = JSONResponse({"error": "unauthorized: send Authorization: Bearer TOKEN, or open /login?token=TOKEN"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer", **SECURITY_HEADERS})
        await response(scope, receive, send)


class NotFound(Exception):
    pass


def create_app(db_path: Path, token: str, cookie_secure: bool = False, rules_dir: Optional[Path] = None,
               spec_folders: tuple[Path, ...] = ()) -> Starlette:
    db_path = Path(db_path)
    pages = environment()

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

    def page(name: str, **context) -> HTMLResponse:
        return HTMLResponse(pages.get_template(name).render(**context), headers=SECURITY_HEADERS)

    def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    def login(request: Request) -> Response:
        given = request.query_params.get("token", "")
        if not given or not same_secret(given, token):
            return PlainTextResponse("unauthorized: wrong or missing token", status_code=401, headers=SECURITY_HEADERS)
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        secure = cookie_secure or request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict", path="/", secure=secure)
        return response

    def index(request: Request) -> Response:
        history = store() if db_path.exists() else None
        targets = []
        if history:
            for target in history.targets():
                runs = history.runs(target, limit=30)
                trend = [{"score": r["score"] or 0, "fail": json.loads(r["summary"])["by_status"]["fail"]}
                         for r in reversed(runs) if r["summary"] and r["status"] != "failed" and r["score"] is not None]
                latest = run_summary(runs[0]) if runs else None
                targets.append({"name": target, "latest": latest, "runs": len(runs),
                                "trend": trend_points(trend, width=200, height=40)})
            history.close()
        return page("server_index.html.j2", targets=targets)

    def target_runs(request: Request) -> Response:
        history = store()
        target = request.path_params["target"]
        runs = [run_summary(r) for r in history.runs(target, limit=int_param(request, "limit", 100, 1, 1000))]
        history.close()
        if not runs:
            raise NotFound(target)
        from auditor.rules.pack import PackFileSet

        with_spec = {p.id for p in PackFileSet(rules_dir).load_all() if p.header.spec}
        spec_packs = sorted({pack for r in runs for pack in r["packs"]} & with_spec)
        return page("server_target.html.j2", target=target, runs=runs, formats=list(CONTENT_TYPES),
                    spec_packs=spec_packs)

    def run_page(request: Request) -> Response:
        return RedirectResponse(f"/runs/{run_id_of(request)}/report.html", status_code=303)

    def report_file(request: Request) -> Response:
        run_id, fmt = run_id_of(request), request.path_params["fmt"]
        if fmt not in CONTENT_TYPES:
            raise NotFound(fmt)
        body = render(document(run_id), fmt)
        headers = dict(SECURITY_HEADERS)
        if fmt != "html":
            headers["Content-Disposition"] = f'attachment; filename="{run_id}-{WRITERS[fmt][0]}"'
        return Response(body, media_type=CONTENT_TYPES[fmt], headers=headers)

    def evidence(request: Request) -> Response:
        run_id = run_id_of(request)
        doc = document(run_id)
        if doc["run"]["status"] == "failed":
            # Evidence of what? A failed run checked nothing; its report says why.
            return JSONResponse({"error": f"run {run_id} failed: no evidence to bundle",
                                 "reasons": doc["run"].get("errors") or []}, status_code=409, headers=SECURITY_HEADERS)
        history = store()
        try:
            packs = history.pack_files(run_id)
        finally:
            history.close()
        data = evidence_bundle(doc, packs)
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
        from auditor.rules.pack import PackFileSet

        packs = [p for p in PackFileSet(rules_dir).load_all() if p.header.spec]
        return page("server_spec_index.html.j2", packs=packs)

    def spec_page(request: Request) -> Response:
        """The traceability matrix of one pack; ``?target=`` (its latest run) or ``?run=`` adds the verdicts."""
        from auditor.rules.coverage import matrix_for
        from auditor.rules.pack import PackFileSet

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
        return page("spec_coverage.html.j2", matrices=[matrix_for(pack, list(spec_folders), findings, run_id)])

    def api_runs(request: Request) -> Response:
        history = store() if db_path.exists() else None
        if history is None:
            return JSONResponse([])
        limit = int_param(request, "limit", 50, 1, 1000)
        rows = history.runs(request.query_params.get("target"), limit)
        history.close()
        return JSONResponse([run_summary(r) for r in rows], headers=SECURITY_HEADERS)

    def api_run(request: Request) -> Response:
        doc = document(run_id_of(request))
        return JSONResponse({"run": doc["run"], "summary": doc["summary"], "history": doc["history"],
                             "waivers": doc["waivers"]}, headers=SECURITY_HEADERS)

    def api_findings(request: Request) -> Response:
        findings = document(run_id_of(request))["findings"]
        for key in FINDING_FILTERS:
            wanted = request.query_params.getlist(key)
            if wanted:
                findings = [f for f in findings if f[key] in wanted]
        return JSONResponse(findings, headers=SECURITY_HEADERS)

    async def bad_query(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"bad request: {exc}"}, status_code=400, headers=SECURITY_HEADERS)

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "not found"}, status_code=404, headers=SECURITY_HEADERS)

    async def read_only(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "method not allowed: this server is read-only"}, status_code=405,
                            headers=SECURITY_HEADERS)

    routes = [
        Route("/healthz", healthz), Route("/login", login), Route("/", index),
        Route("/targets/{target}", target_runs), Route("/runs/{run_id}", run_page),
        Route("/runs/{run_id}/report.{fmt}", report_file), Route("/runs/{run_id}/evidence.zip", evidence),
        Route("/diff", diff_page), Route("/api/runs", api_runs), Route("/api/runs/{run_id}", api_run),
        Route("/api/runs/{run_id}/findings", api_findings), Route("/spec", spec_index), Route("/spec/{pack}", spec_page),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TokenGate, token=token)],
                     exception_handlers={NotFound: not_found, BadQuery: bad_query, 404: not_found,
                                         405: read_only})


def run_summary(row: dict) -> dict:
    summary = json.loads(row["summary"]) if row.get("summary") else {}
    failed = row["status"] == "failed"
    return {"id": row["id"], "target": row["target"], "environment": row["environment"],
            "started_at": row["started_at"], "finished_at": row["finished_at"], "status": row["status"],
            "score": None if failed else row["score"], "by_status": None if failed else summary.get("by_status"),
            "api_calls": row["api_calls"], "packs": json.loads(row["packs"] or "[]"),
            "regions": json.loads(row["regions"] or "[]"), "errors": json.loads(row.get("errors") or "[]"),
            "coverage": json.loads(row["coverage"]) if row.get("coverage") else None}


def render(doc: dict, fmt: str) -> bytes:
    """A report format rendered to bytes, through the same writer the scan uses."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WRITERS[fmt][0]
        WRITERS[fmt][1](doc, path)
        return path.read_bytes()


def evidence_bundle(doc: dict, packs: list[dict]) -> bytes:
    """report.json, report.html, run metadata, the packs used and a manifest of every file's SHA-256."""
    files: dict[str, bytes] = {
        "report.json": render(doc, "json"),
        "report.html": render(doc, "html"),
        "run.json": json.dumps({"run": doc["run"], "summary": doc["summary"], "waivers": doc["waivers"]},
                               indent=1).encode(),
    }
    for pack in packs:
        for name, text in sorted(pack["files"].items()):
            files[f"packs/{pack['id']}/{name}"] = text.encode()
    manifest = {
        "tool": "auditor", "tool_version": __version__, "generated_at": utc_now(), "run_id": doc["run"]["id"],
        "packs": [{"id": p["id"], "sha256": p["sha256"]} for p in packs],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
        bundle.writestr("manifest.json", json.dumps(manifest, indent=1))
        bundle.writestr("SHA256SUMS", "".join(f"{h}  {n}\n" for n, h in manifest["files"].items()))
    return buffer.getvalue()


def serve(db_path: Path, host: str, port: int, token: Optional[str], announce, cookie_secure: bool = False,
          rules_dir: Optional[Path] = None, spec_folders: tuple[Path, ...] = ()) -> None:
    import secrets

    import uvicorn

    if not token:
        token = secrets.token_urlsafe(32)
        announce(f"no AUDITOR_TOKEN set; log in at http://{host}:{port}/login?token={token}")
    else:
        announce(f"serving {db_path} on http://{host}:{port}/ (token from AUDITOR_TOKEN)")
    # No access log: /login?token=... would otherwise write the token into it.
    uvicorn.run(create_app(db_path, token, cookie_secure, rules_dir, spec_folders), host=host, port=port,
                log_level="warning", access_log=False)
