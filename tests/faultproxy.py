"""A fault-injecting HTTP proxy for the tests: between auditor and the moto server, it answers a share of the
requests with throttling, 5xx errors or a dropped connection, denies chosen operations, or dies after N."""
from __future__ import annotations

import http.client
import random
import re
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import urlsplit

SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


REGION = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/[^/]+/aws4_request")


def region_of(headers) -> str:
    match = REGION.search(headers.get("Authorization", ""))
    return match.group(1) if match else ""


def service_of(headers) -> str:
    match = SERVICE.search(headers.get("Authorization", ""))
    return match.group(1) if match else "unknown"


# S3's REST calls name their operation by a subresource of the query: GET ?versioning is GetBucketVersioning.
S3_SUBRESOURCES = {"versioning": "BucketVersioning", "encryption": "BucketEncryption", "lifecycle": "BucketLifecycle",
                   "policy": "BucketPolicy", "publicAccessBlock": "PublicAccessBlock", "tagging": "BucketTagging",
                   "location": "BucketLocation", "cors": "BucketCors", "logging": "BucketLogging",
                   "replication": "BucketReplication", "object-lock": "ObjectLockConfiguration"}


def operation_of(headers, body: bytes, method: str = "", path: str = "") -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    match = re.search(rb"Action=([A-Za-z]+)", body or b"")
    if match:
        return match.group(1).decode()
    query = urlsplit(path).query
    for key in (part.split("=", 1)[0] for part in query.split("&") if part):
        if key in S3_SUBRESOURCES:
            return {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method.title()) + S3_SUBRESOURCES[key]
    return ""


def throttle(service: str) -> tuple[int, dict, bytes]:
    """A throttling answer in the error format of the service's protocol."""
    if service in ("dynamodb",):
        return 400, {"Content-Type": "application/x-amz-json-1.0"}, \
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'
    if service in ("s3", "s3control"):
        return 503, {"Content-Type": "application/xml"}, \
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    if service == "ec2":
        return 503, {"Content-Type": "text/xml"}, (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                                                   b"<Message>Request limit exceeded.</Message></Error></Errors></Response>")
    if service in ("rds", "elasticache", "monitoring", "sts", "ssm"):
        if service == "ssm":
            return 400, {"Content-Type": "application/x-amz-json-1.1"}, \
                b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        return 400, {"Content-Type": "text/xml"}, (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                                                   b"<Message>Rate exceeded</Message></Error></ErrorResponse>")
    return 503, {"Content-Type": "application/json"}, b""


def denied(service: str) -> tuple[int, dict, bytes]:
    if service == "dynamodb":
        return 400, {"Content-Type": "application/x-amz-json-1.0"}, \
            b'{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized"}'
    if service == "s3":
        return 403, {"Content-Type": "application/xml"}, b"<Error><Code>AccessDenied</Code><Message>denied</Message></Error>"
    return 403, {"Content-Type": "text/xml"}, (b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                                               b"<Message>denied</Message></Error></ErrorResponse>")


class FaultProxy:
    def __init__(self, upstream: str, rate: float = 0.0, seed: int = 7,
                 deny: Optional[Callable[[str, str], bool]] = None, die_after: Optional[int] = None,
                 hang: Optional[Callable[[str, str, str, str], bool]] = None,
                 answer: Optional[Callable[[str, str, str], Optional[tuple[int, dict, bytes]]]] = None,
                 rewrite: Optional[Callable[[str, str, str, bytes], Optional[bytes]]] = None,
                 deny_body: Optional[Callable[[str, str, bytes], bool]] = None,
                 delay: Optional[Callable[[str, str, bytes], float]] = None):
        """``hang(service, operation, method, path)``: never answer that request (until the proxy stops);
        ``answer(service, operation, region)``: a canned answer instead of upstream's; ``rewrite(service,
        operation, path, body)``: upstream's answer reshaped (None keeps it); ``deny_body(service, operation,
        body)``: AccessDenied for the requests it picks by their body (an AssumeRole of one role ARN, say);
        ``delay(service, operation, body)``: seconds to hold a request before passing it on."""
        self.upstream = urlsplit(upstream)
        self.hang = hang
        self.inject = answer
        self.rewrite = rewrite
        self.stopped = threading.Event()
        self.rate = rate
        self.random = random.Random(seed)
        self.deny = deny
        self.deny_body = deny_body
        self.delay = delay
        self.die_after = die_after
        self.faults: Counter = Counter()
        self.requests = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service, operation = service_of(self.headers), operation_of(self.headers, body, self.command, self.path)
                with proxy.lock:
                    proxy.requests += 1
                    if proxy.die_after is not None and proxy.requests > proxy.die_after:
                        threading.Thread(target=proxy.server.shutdown, daemon=True).start()
                        proxy.server.socket.close()
                        self.close_connection = True
                        return
                    roll = proxy.random.random()
                    kind = proxy.random.choice(("throttle", "error", "drop"))
                if (proxy.deny and proxy.deny(service, operation)) or \
                        (proxy.deny_body and proxy.deny_body(service, operation, body)):
                    proxy.faults["denied"] += 1
                    return self.answer(*denied(service))
                if proxy.delay:
                    pause = proxy.delay(service, operation, body)
                    if pause:
                        proxy.faults["delayed"] += 1
                        proxy.stopped.wait(pause)
                if proxy.hang and proxy.hang(service, operation, self.command, self.path):
                    proxy.faults["hung"] += 1
                    proxy.stopped.wait(120)
                    self.close_connection = True
                    return
                canned = proxy.inject(service, operation, region_of(self.headers)) if proxy.inject else None
                if canned is not None:
                    proxy.faults["answered"] += 1
                    return self.answer(*canned)
                if service != "sts" and roll < proxy.rate:
                    proxy.faults[kind] += 1
                    if kind == "drop":
                        self.close_connection = True
                        return
                    return self.answer(*(throttle(service) if kind == "throttle" else (500, {}, b"")))
                connection = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                connection.close()
                if proxy.rewrite:
                    reshaped = proxy.rewrite(service, operation, self.path, data)
                    if reshaped is not None:
                        proxy.faults["rewritten"] += 1
                        data = reshaped
                passed = {k: v for k, v in answer.getheaders()
                          if k.lower() not in ("transfer-encoding", "connection", "content-length")}
                if proxy.rewrite and "x-amz-crc32" in {k.lower() for k in passed}:
                    # DynamoDB signs its body with a CRC32: a rewritten answer carries its own, as AWS's would
                    # (a stale one makes botocore retry the call eight times instead of reading the answer).
                    passed = {k: v for k, v in passed.items() if k.lower() != "x-amz-crc32"}
                    passed["x-amz-crc32"] = str(zlib.crc32(data) & 0xFFFFFFFF)
                self.answer(answer.status, passed, data)

            def answer(self, status: int, headers: dict, body: bytes):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stopped.set()
        try:
            self.server.shutdown()
        finally:
            self.server.server_close()
