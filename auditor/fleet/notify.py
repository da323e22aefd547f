"""The scheduler's webhook: new failures of a run, as plain JSON, a Slack message or a Teams Adaptive Card.

Every POST is signed: ``X-Auditor-Signature-256: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")`` with the
Unix time in ``X-Auditor-Timestamp``, so a receiver can check both who sent it and that it is not a replay. The
secret comes from an environment variable (``scheduler.webhook_secret_env``), never from config.yaml. The link
is the run's page on the report server (``server.base_url``), never a path on the scanning machine.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
import urllib.request
from typing import Optional

log = logging.getLogger("auditor.scheduler")
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SHOWN = 10  # failures listed in a chat message; the link has the rest


def run_url(base_url: Optional[str], run_id: str) -> Optional[str]:
    return f"{base_url.rstrip('/')}/runs/{run_id}/report.html" if base_url else None


def summary_line(outcome, new_failures: list) -> str:
    score = outcome.document["summary"]["score"]
    return (f"auditor: {len(new_failures)} new failure(s) on {outcome.run.target} "
            f"(run {outcome.run.id}, {outcome.run.status}, score {score if score is not None else 'none'})")


def ordered(new_failures: list) -> list:
    return sorted(new_failures, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.rule_id, f.resource.name))


def json_body(outcome, new_failures: list, url: Optional[str]) -> dict:
    return {
        "target": outcome.run.target, "run_id": outcome.run.id, "status": outcome.run.status,
        "score": outcome.document["summary"]["score"], "new_failures": len(new_failures), "url": url,
        "failures": [{"rule_id": f.rule_id, "title": f.title, "severity": f.severity, "control": f.control,
                      "change": f.change, "resource": f.resource.name, "arn": f.resource.arn, "message": f.message}
                     for f in ordered(new_failures)[:50]],
    }


def slack_escape(text: str) -> str:
    """Slack's mrkdwn reads <...> as links and mentions: resource names are untrusted, so they are escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(outcome, new_failures: list, url: Optional[str]) -> dict:
    lines = [f"• *{f.severity}* `{slack_escape(f.rule_id)}` {slack_escape(f.resource.name)}: "
             f"{slack_escape(f.message[:200])}" for f in ordered(new_failures)[:SHOWN]]
    if len(new_failures) > SHOWN:
        lines.append(f"…and {len(new_failures) - SHOWN} more")
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{len(new_failures)} new failure(s) on "
                                                                  f"{outcome.run.target}"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(
            f"run {outcome.run.id} · {outcome.run.status} · score {outcome.document['summary']['score']}")}]},
    ]
    if url:
        blocks.append({"type": "actions", "elements": [{"type": "button", "url": url,
                                                        "text": {"type": "plain_text", "text": "Open the report"}}]})
    return {"text": summary_line(outcome, new_failures), "blocks": blocks}


def teams_body(outcome, new_failures: list, url: Optional[str]) -> dict:
    """A message with one Adaptive Card, as Teams' incoming webhooks and Workflows take it."""
    facts = [{"title": f"{f.severity} {f.rule_id}", "value": f"{f.resource.name}: {f.message[:200]}"}
             for f in ordered(new_failures)[:SHOWN]]
    body: list[dict] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": True,
         "text": f"{len(new_failures)} new failure(s) on {outcome.run.target}"},
        {"type": "TextBlock", "isSubtle": True, "wrap": True,
         "text": f"run {outcome.run.id} · {outcome.run.status} · score {outcome.document['summary']['score']}"},
        {"type": "FactSet", "facts": facts},
    ]
    if len(new_failures) > SHOWN:
        body.append({"type": "TextBlock", "text": f"…and {len(new_failures) - SHOWN} more", "wrap": True})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body}
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": url}]
    return {"type": "message", "summary": summary_line(outcome, new_failures),
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
                             "content": card}]}


BODIES = {"json": json_body, "slack": slack_body, "teams": teams_body}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_request(url: str, payload: dict, secret: Optional[str]) -> urllib.request.Request:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "auditor"}
    if secret:
        timestamp = str(int(time.time()))
        headers.update({"X-Auditor-Timestamp": timestamp, "X-Auditor-Signature-256": signature(secret, timestamp, body)})
    return urllib.request.Request(url, data=body, method="POST", headers=headers)


# Deliveries since the process started, for the scheduler's log: a receiver that keeps failing shows as a count.
DELIVERIES = {"sent": 0, "failed": 0}


def notify(config, outcome, new_failures: list) -> bool:
    """POST the new failures to the webhook; True when it was answered. Whatever goes wrong (the receiver down, a
    garbage status line, a 70 KB header, a TLS error, an answer dripping a byte a second) is logged and counted,
    never raised: the audit is recorded already and the other targets still run. ``webhook_timeout_seconds``
    bounds the whole delivery, not each read."""
    settings = config.scheduler
    secret = os.environ.get(settings.webhook_secret_env) if settings.webhook_secret_env else None
    if not secret:
        log.warning("webhook: %s is not set, so the POST is not signed", settings.webhook_secret_env)
    where = redacted(settings.webhook_url)
    try:
        url = run_url(config.server.base_url, outcome.run.id)
        payload = BODIES[settings.webhook_format](outcome, new_failures, url)
        request = signed_request(settings.webhook_url, payload, secret)
    except Exception as exc:  # noqa: BLE001  a message that cannot be built is one failed delivery
        return _failed(where, f"the message could not be built ({type(exc).__name__}: {exc})")
    answer: dict = {}

    def deliver() -> None:
        try:
            with urllib.request.urlopen(request, timeout=settings.webhook_timeout_seconds) as response:
                answer["status"] = response.status
        except BaseException as exc:  # noqa: BLE001  reported by the caller, whatever it is
            answer["error"] = exc

    thread = threading.Thread(target=deliver, name="auditor-webhook", daemon=True)
    thread.start()
    thread.join(settings.webhook_timeout_seconds)
    if thread.is_alive():  # the daemon thread is left to the socket's own timeout; nobody waits for it
        return _failed(where, f"no complete answer within {settings.webhook_timeout_seconds:g} s")
    if "error" in answer:
        exc = answer["error"]
        return _failed(where, f"{type(exc).__name__}: {str(exc)[:200]}")
    DELIVERIES["sent"] += 1
    log.info("webhook: %d new failures of %s sent as %s (HTTP %s)", len(new_failures), outcome.run.target,
             settings.webhook_format, answer.get("status"))
    return True


def _failed(where: str, reason: str) -> bool:
    DELIVERIES["failed"] += 1
    log.warning("webhook %s failed: %s (%d failed deliveries since the scheduler started)", where, reason,
                DELIVERIES["failed"])
    return False


def redacted(url: str) -> str:
    """Slack and Teams webhook URLs are secrets in their path: logs get the host only."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/..."
