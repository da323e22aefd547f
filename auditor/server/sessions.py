"""Who may read: the bearer token for scripts, a session cookie for people.

The login form takes the token by POST (never in a URL, where it would land in browser history and proxy logs)
and answers with a cookie signed by itsdangerous: a per-login nonce and the time it was made, so a session
expires (``server.session_hours``) and /logout ends it. The signing key is derived from the token, so a new
token ends every session. A logged-out nonce is kept (as its SHA-256, with when its cookie would have expired) in
a small file beside the history, so a logout outlasts a restart; the history itself stays read-only.

The login form answers only a POST from this server's own page (Origin, else Referer, naming this host), and
five wrong tokens from one client in five minutes make it 429 with Retry-After until the window frees.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Optional
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("auditor.server")
COOKIE = "auditor_session"
LOGIN_FAILURES, LOGIN_WINDOW_SECONDS = 5, 300
OPEN_PATHS = ("/healthz", "/login")
# Referrer-Policy same-origin: nothing leaks to other sites, and the login form's POST still carries its Origin
# (under no-referrer a browser sends "Origin: null", which the login's CSRF check must refuse).
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
                    "X-Frame-Options": "DENY"}


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of credentials of any characters: as bytes, so a non-ASCII header, cookie or
    form value is a plain mismatch (401), never a TypeError (500)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script): it gets HTML pages for errors and the login."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def safe_next(value: Optional[str]) -> str:
    """Where to go after login: a path on this server only (``//evil.example`` and ``https://...`` are not)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class Sessions:
    """Signed, expiring session cookies with a nonce per login; logged-out nonces are refused until they expire,
    across restarts when ``ended_file`` can be written (else for this process's life, with a warning)."""

    def __init__(self, token: str, hours: float = 8, secure: bool = False, ended_file: Optional[Path] = None):
        self.token = token
        self.max_age = int(hours * 3600)
        self.secure = secure
        key = hmac.new(token.encode("utf-8", "surrogatepass"), b"auditor-session-key-v2", hashlib.sha256).hexdigest()
        self.serializer = URLSafeTimedSerializer(key, salt="auditor-session")
        self.ended_file = Path(ended_file) if ended_file else None
        self.ended: dict[str, float] = {}  # SHA-256 of a nonce -> when its cookie would have expired
        self.ended_mtime: Optional[float] = None
        self.lock = threading.Lock()
        self._reload()

    def issue(self) -> str:
        return self.serializer.dumps({"nonce": secrets.token_urlsafe(16)})

    def nonce_of(self, cookie: str) -> Optional[str]:
        """The nonce of a valid, unexpired, not logged-out cookie; None otherwise."""
        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        nonce = data.get("nonce") if isinstance(data, dict) else None
        if not isinstance(nonce, str):
            return None
        self._reload()
        with self.lock:
            if _digest(nonce) in self.ended:
                return None
        return nonce

    def end(self, cookie: str) -> None:
        nonce = self.nonce_of(cookie)
        if nonce:
            now = time.time()
            with self.lock:
                self.ended = {n: until for n, until in self.ended.items() if until > now}
                self.ended[_digest(nonce)] = now + self.max_age
                self._save()

    def _reload(self) -> None:
        """Read the logged-out nonces another process (or this one before a restart) wrote, when the file changed."""
        if self.ended_file is None:
            return
        try:
            mtime = self.ended_file.stat().st_mtime
        except OSError:
            return
        if mtime == self.ended_mtime:
            return
        try:
            stored = json.loads(self.ended_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("%s: cannot be read; logouts recorded there are not known to this process", self.ended_file)
            return
        now = time.time()
        with self.lock:
            self.ended.update({str(n): float(u) for n, u in (stored or {}).items()
                               if isinstance(u, (int, float)) and u > now})
            self.ended_mtime = mtime

    def _save(self) -> None:
        if self.ended_file is None:
            return
        partial = self.ended_file.with_name(f"{self.ended_file.name}.{os.getpid()}.part")
        try:
            partial.write_text(json.dumps(self.ended), encoding="utf-8")
            os.replace(partial, self.ended_file)
            self.ended_mtime = self.ended_file.stat().st_mtime
        except OSError as exc:
            log.warning("%s: cannot be written (%s): this logout lasts until the server restarts", self.ended_file,
                        exc.strerror or exc)


    def is_secure(self, request: Request) -> bool:
        return self.secure or request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"

    def login_response(self, request: Request, next_path: str) -> Response:
        response = RedirectResponse(safe_next(next_path), status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(COOKIE, self.issue(), max_age=self.max_age, httponly=True, samesite="strict", path="/",
                            secure=self.is_secure(request))
        return response

    def logout_response(self, request: Request) -> Response:
        self.end(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=self.is_secure(request))
        return response

    def authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if bearer:
            return same_secret(bearer, self.token)
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and self.nonce_of(cookie) is not None


class LoginGuard:
    """Failed logins per client: the sixth within LOGIN_WINDOW_SECONDS waits (429, Retry-After) for the oldest to
    leave the window, whatever token it brings, so the token cannot be guessed at speed."""

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW_SECONDS):
        self.failures, self.window = failures, window
        self.seen: dict[str, deque] = {}
        self.lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        now = time.monotonic()
        with self.lock:
            times = self.seen.get(client)
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times or len(times) < self.failures:
                return 0
            return max(1, int(times[0] + self.window - now + 0.999))

    def failed(self, client: str) -> None:
        with self.lock:
            if len(self.seen) > 10_000:  # a flood of clients cannot grow this without bound
                self.seen.clear()
            self.seen.setdefault(client, deque(maxlen=self.failures)).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        with self.lock:
            self.seen.pop(client, None)


def from_own_page(request: Request) -> bool:
    """A form POST's Origin (else its Referer) names this server, as the browser reached it (Host): a page on
    another site cannot log a visitor in with its own token (login CSRF). Neither header: not a browser form."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    if not source or source == "null":
        return False
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(source).netloc.lower() == host.lower()


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


class TokenGate:
    """ASGI middleware: /healthz and /login are open; everything else needs the bearer token or a session.
    A browser without one is sent to the login form (and back afterwards); a script gets a JSON 401."""

    def __init__(self, app: ASGIApp, sessions: Sessions):
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.sessions.authorized(request):
            await self.app(scope, receive, send)
            return
        if wants_html(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response: Response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303,
                                                  headers=SECURITY_HEADERS)
        else:
            response = JSONResponse({"error": "unauthorized: send Authorization: Bearer TOKEN, or log in at /login"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer", **SECURITY_HEADERS})
        await response(scope, receive, send)
