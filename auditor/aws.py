"""boto3 sessions and clients for one target: adaptive retries, counted calls, errors sorted by code.

One client per (service, region), made once and shared by the worker threads (clients are thread-safe,
sessions are not, so clients are made under a lock).
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from auditor.errors import AuditIncomplete, BadInput

THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "RequestThrottled", "BandwidthLimitExceeded", "PriorRequestNotComplete", "EC2ThrottledException",
}
EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
                 "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure"}
# A region the account has not enabled (opt-in regions) answers with these, like rejected credentials do.
REGION_REFUSALS = {"AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired"}
# The endpoint is gone: connecting fails or the connection drops. A call that connects and then does not answer
# in time (ReadTimeoutError) is that call's error, not the run's end.
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)


def known_regions() -> set[str]:
    """Every region botocore's partition data names (aws, aws-cn, aws-us-gov, ...): no call needed."""
    session = boto3.Session()
    known: set[str] = set()
    for partition in session.get_available_partitions():
        for service in ("ec2", "s3", "dynamodb", "sts"):
            known.update(session.get_available_regions(service, partition))
    return known


def unknown_region(regions: list[str]) -> Optional[str]:
    """Why the first unknown region of ``regions`` is refused, with the valid ones; None when all are known."""
    known = known_regions()
    bad = next((r for r in regions if r not in known), None)
    return None if bad is None else f"unknown AWS region {bad!r}; valid regions: {', '.join(sorted(known))}"


def check_regions(regions: list[str], where: str = "--region") -> list[str]:
    """An unknown region is bad input (exit 2) before any call, not eight retries and a partial run."""
    problem = unknown_region(regions)
    if problem:
        raise BadInput(f"{where}: {problem}")
    return regions


@dataclass
class AwsSettings:
    """How to reach a target's account: never holds a secret, only where to find one."""

    regions: list[str]
    profile: Optional[str] = None
    role_arn: Optional[str] = None
    external_id: Optional[str] = None
    endpoint_url: Optional[str] = None
    max_workers: int = 16
    max_attempts: int = 8
    connect_timeout: float = 5
    read_timeout: float = 30
    deadline_seconds: Optional[float] = 3600  # per target; None: no deadline
    via_role_arn: Optional[str] = None  # assumed first (an organization's management role), then role_arn
    via_external_id: Optional[str] = None


@dataclass
class CallStats:
    """API calls (one per operation asked) and HTTP requests (retries included), by service."""

    calls: Counter = field(default_factory=Counter)
    requests: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_call(self, service: str, operation: str) -> None:
        with self.lock:
            self.calls[f"{service}:{operation}"] += 1

    def count_request(self, service: str) -> None:
        with self.lock:
            self.requests[service] += 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def retries(self) -> int:
        return max(0, self.total_requests - self.total_calls)

    def by_service(self) -> dict[str, int]:
        out: Counter = Counter()
        for key, count in self.calls.items():
            out[key.split(":", 1)[0]] += count
        return dict(sorted(out.items()))


def strip_account_prefix(request: Any, **_: Any) -> None:
    """s3control puts the account id in front of the host, which a local endpoint cannot resolve."""
    parts = urlsplit(request.url)
    host = parts.netloc
    match = re.match(r"^\d{12}\.(.+)$", host)
    if match:
        request.url = urlunsplit(parts._replace(netloc=match.group(1)))
        if "host" in {k.lower() for k in request.headers.keys()}:
            request.headers["Host"] = match.group(1)


def _no_retry_of_html_pages(response: Any = None, operation: Any = None, **_: Any) -> None:
    """An HTML error page (an endpoint's "not implemented", as moto serves it; AWS APIs answer in JSON or XML)
    does not change when asked again: it is "not served" at once, not after eight back-offs."""
    if not response:
        return
    http = response[0]
    if http.status_code >= 500 and "text/html" in str(http.headers.get("Content-Type", "")).lower():
        raise ResponseParserError(f"{getattr(operation, 'name', 'the call')} answered an HTML page (HTTP {http.status_code})")


class ClientPool:
    """Makes and keeps one client per (service, region), every call counted."""

    def __init__(self, settings: AwsSettings):
        self.settings = settings
        self.stats = CallStats()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": settings.max_attempts},
            max_pool_connections=max(10, settings.max_workers),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            user_agent_extra="auditor",
        )
        try:
            self.session = boto3.Session(profile_name=settings.profile) if settings.profile else boto3.Session()
        except ProfileNotFound:
            raise BadInput(f"AWS profile {settings.profile!r} is not in the AWS config files") from None
        if settings.via_role_arn:
            self.session = self._assume_role(settings.via_role_arn, settings.via_external_id)
        if settings.role_arn:
            self.session = self._assume_role(settings.role_arn, settings.external_id)

    def _assume_role(self, role_arn: str, external_id: Optional[str]) -> boto3.Session:
        sts = self.client("sts", self.settings.regions[0])
        params = {"RoleArn": role_arn, "RoleSessionName": "auditor"}
        if external_id:
            params["ExternalId"] = external_id
        try:
            creds = sts.assume_role(**params)["Credentials"]
        except ClientError as exc:
            raise AuditIncomplete(f"cannot assume role {role_arn}: {error_code(exc)}: {error_message(exc)}") from None
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError):
            raise AuditIncomplete(f"cannot assume role {role_arn}: no AWS credentials to assume it with") from None
        except UNREACHABLE:
            raise AuditIncomplete(f"cannot assume role {role_arn}: {self.describe_endpoint('sts')} is unreachable") from None
        self._clients.clear()
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def describe_endpoint(self, service: str) -> str:
        return self.settings.endpoint_url or f"the AWS {service} endpoint"

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, region)
            return self._clients[key]

    def _make(self, service: str, region: str) -> Any:
        try:
            client = self.session.client(
                service, region_name=region, endpoint_url=self.settings.endpoint_url, config=self._config
            )
        except NoRegionError:
            raise BadInput("no AWS region: set regions in config.yaml or pass --region") from None
        except ValueError as exc:
            raise BadInput(f"cannot reach {service} in {region!r}: {exc}") from None
        events = client.meta.events
        events.register("before-call", lambda model, **_: self.stats.count_call(service, model.name))
        events.register("before-send", lambda **_: self.stats.count_request(service))
        if service == "s3control" and self.settings.endpoint_url:
            events.register_first("before-send.s3-control.*", strip_account_prefix)
        events.register_first("needs-retry", _no_retry_of_html_pages)
        return client

    def account_id(self) -> str:
        """Who we are: the first call of a scan, so that missing credentials fail fast and clearly. Asked once
        per pool: the answer (or the failure) is kept, so naming an ad-hoc run does not cost a second call."""
        if not hasattr(self, "_identity"):
            try:
                self._identity: Any = self._ask_account_id()
            except AuditIncomplete as exc:
                self._identity = exc
        if isinstance(self._identity, AuditIncomplete):
            raise AuditIncomplete(str(self._identity))
        return self._identity

    def _ask_account_id(self) -> str:
        region = self.settings.regions[0]
        quick = self._config.merge(Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3))
        try:
            sts = self.session.client("sts", region_name=region, endpoint_url=self.settings.endpoint_url, config=quick)
            sts.meta.events.register("before-call", lambda model, **_: self.stats.count_call("sts", model.name))
            sts.meta.events.register("before-send", lambda **_: self.stats.count_request("sts"))
            return sts.get_caller_identity()["Account"]
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError):
            raise AuditIncomplete(
                "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --profile"
            ) from None
        except (*UNREACHABLE, ReadTimeoutError):
            raise AuditIncomplete(f"endpoint unreachable: {self.describe_endpoint('sts')} did not answer") from None
        except ClientError as exc:
            raise AuditIncomplete(f"cannot identify the account: {error_code(exc)}: {error_message(exc)}") from None
        except ResponseParserError:
            raise AuditIncomplete(f"endpoint {self.describe_endpoint('sts')} does not answer like AWS STS") from None


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).strip()


class FatalAwsError(Exception):
    """The whole run cannot go on: the endpoint died or the credentials expired."""


def why_unreadable(exc: Exception, operation: str) -> str:
    """The reason a property could not be read, for the ``error`` finding; raises FatalAwsError when the run
    cannot go on at all."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in EXPIRED_CODES:
            raise FatalAwsError(f"credentials rejected or expired ({code}) during {operation}")
        if code.startswith("AccessDenied") or code in {"UnauthorizedOperation", "AuthorizationError", "Forbidden", "403"}:
            return f"access denied to {operation} ({code})"
        if code in THROTTLING_CODES or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 503:
            return f"{operation} throttled past retries ({code})"
        return f"{operation} failed: {code}: {error_message(exc)}"[:300]
    if isinstance(exc, ResponseParserError):
        return f"{operation} is not served by this endpoint (unparseable answer)"
    if isinstance(exc, ReadTimeoutError):
        return f"{operation} did not answer in time (ReadTimeoutError, after retries)"
    if isinstance(exc, UNREACHABLE):
        # Retried already: the endpoint is gone (or the network is), and the rest of the run would only wait.
        raise FatalAwsError(f"the endpoint stopped answering during {operation} ({type(exc).__name__})")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        raise FatalAwsError(f"credentials vanished during {operation}")
    if isinstance(exc, BotoCoreError):
        return f"{operation} failed: {type(exc).__name__}: {exc}"[:300]
    raise exc
