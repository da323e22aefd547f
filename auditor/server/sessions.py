"""Who may read: the bearer token for scripts, a session cookie for people.

The login form takes the token by POST (never in a URL, where it would land in browser history and proxy logs)
and answers with a cookie signed by itsdangerous: a per-login nonce and the time it was made, so a session
expires (``server.session_hours``) and /logout ends it. The signing key is derived from the token, so a new
token ends every session. Nothing else is stored: the history stays read-only.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Optional
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "auditor_session"
OPEN_PATHS = ("/healthz", "/login")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
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
    """Signed, expiring session cookies with a nonce per login; logged-out nonces are refused until they expire."""

    def __init__(self, token: str, hours: float = 8, secure: bool = False):
        self.token = token
        self.max_age = int(hours * 3600)
        self.secure = secure
        key = hmac.new(token.encode("utf-8", "surrogatepass"), b"auditor-session-key-v2", hashlib.sha256).hexdigest()
        self.serializer = URLSafeTimedSerializer(key, salt="auditor-session")
        self.ended: dict[str, float] = {}  # nonce -> when its cookie would have expired
        self.lock = threading.Lock()

    def issue(self) -> str:
        return self.serializer.dumps({"nonce": secrets.token_urlsafe(16)})

    def nonce_of(self, cookie: str) -> Optional[str]:
        """The nonce of a valid, unexpired, not logged-out cookie; None otherwise."""
        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        nonce = data.get("nonce") if isinstance(data, dict) else None
        with self.lock:
            if not isinstance(nonce, str) or nonce in self.ended:
                return None
        return nonce

    def end(self, cookie: str) -> None:
        nonce = self.nonce_of(cookie)
        if nonce:
            now = time.time()
            with self.lock:
                self.ended = {n: until for n, until in self.ended.items() if until > now}
                self.ended[nonce] = now + self.max_age

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
