"""Organization targets: the member accounts of an AWS Organization, found at audit time.

Discovery asks the organization itself (with the management or delegated-admin identity): ``ListAccounts`` for
the whole organization, or ``ListAccountsForParent`` / ``ListOrganizationalUnitsForParent`` walked down from
the OUs to include (recursively), and ``ListTagsForResource`` when an account tag gives the environment. Every
account is listed with what will happen to it and why: audited, or not (suspended, excluded, no environment).
Each audited account becomes a target ``ORG/ACCOUNT_ID`` reached by assuming ``role_name`` in it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from botocore.exceptions import BotoCoreError, ClientError

from auditor.environments import canonical_env
from auditor.errors import AuditIncomplete


@dataclass
class MemberAccount:
    id: str
    name: str
    status: str
    ou_path: list[str] = field(default_factory=list)  # OU ids from the root down to the account's parent
    ou_names: list[str] = field(default_factory=list)  # their names
    tags: dict[str, str] = field(default_factory=dict)
    environment: Optional[str] = None
    audited: bool = False
    why: str = ""

    @property
    def ou(self) -> Optional[str]:
        """The OU path by name (``prod / prod-eu``); None at the root or when the organization has no OUs."""
        return " / ".join(self.ou_names) or None

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status, "ou_path": self.ou_path,
                "ou": self.ou, "tags": self.tags,
                "environment": self.environment, "audited": self.audited, "why": self.why}


@dataclass
class Discovery:
    organization: str
    accounts: list[MemberAccount]
    api_calls: int = 0

    @property
    def audited(self) -> list[MemberAccount]:
        return [a for a in self.accounts if a.audited]


def _pages(client: Any, operation: str, key: str, counter: list[int], **params) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**params):
        counter[0] += 1
        yield from page.get(key, [])


def discover(org, client: Any) -> Discovery:
    """``org``: config.OrganizationSettings; ``client``: an Organizations client with the management identity.
    AuditIncomplete (exit 3) names the call when the organization cannot be read."""
    calls = [0]
    try:
        found = _walk(org, client, calls)
        if org.environment.tag:
            for account in found.values():
                if account.status == "ACTIVE":
                    account.tags = {t["Key"]: t["Value"] for t in _pages(
                        client, "list_tags_for_resource", "Tags", calls, ResourceId=account.id)}
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AuditIncomplete(f"organization {org.name}: {exc.operation_name} failed: {error.get('Code')}: "
                              f"{error.get('Message')}") from None
    except BotoCoreError as exc:
        raise AuditIncomplete(f"organization {org.name}: cannot reach AWS Organizations: {exc}") from None
    excluded = set(org.exclude_accounts)
    for account in found.values():
        decide(org, account, excluded)
    return Discovery(org.name, sorted(found.values(), key=lambda a: (not a.audited, a.id)), calls[0])


def _walk(org, client: Any, calls: list[int]) -> dict[str, MemberAccount]:
    """Accounts by id, each with the OUs above it (for the environment and the roll-up by OU). The tree is
    walked down from ``include_ous`` or the roots; an organization with no OUs at all is one ListAccounts."""
    if org.include_ous:
        starts = []
        for ou in org.include_ous:
            try:
                name = client.describe_organizational_unit(OrganizationalUnitId=ou)["OrganizationalUnit"]["Name"]
                calls[0] += 1
            except ClientError:
                name = ou
            starts.append((ou, [ou], [name]))
    else:
        roots = [root["Id"] for root in _pages(client, "list_roots", "Roots", calls)]
        top = [(ou, root) for root in roots for ou in _pages(client, "list_organizational_units_for_parent",
                                                              "OrganizationalUnits", calls, ParentId=root)]
        if not top:  # a flat organization: one paginated listing says it all
            return {a["Id"]: MemberAccount(a["Id"], a.get("Name", ""), a.get("Status", "ACTIVE"))
                    for a in _pages(client, "list_accounts", "Accounts", calls)}
        starts = [(root, [], []) for root in roots]
    found: dict[str, MemberAccount] = {}
    pending = list(starts)
    while pending:
        parent, path, names = pending.pop()
        for a in _pages(client, "list_accounts_for_parent", "Accounts", calls, ParentId=parent):
            if a["Id"] not in found or len(path) > len(found[a["Id"]].ou_path):  # a nested OU named too: deepest
                found[a["Id"]] = MemberAccount(a["Id"], a.get("Name", ""), a.get("Status", "ACTIVE"), list(path),
                                               list(names))
        for ou in _pages(client, "list_organizational_units_for_parent", "OrganizationalUnits", calls,
                         ParentId=parent):
            pending.append((ou["Id"], path + [ou["Id"]], names + [ou.get("Name", ou["Id"])]))
    return found


def decide(org, account: MemberAccount, excluded: set[str]) -> None:
    """Audited or not, and why, in the words `auditor targets list` prints."""
    if account.id in excluded:
        account.why = "excluded in config.yaml (exclude_accounts)"
        return
    if account.status != "ACTIVE":
        account.why = f"{account.status}: only ACTIVE accounts are audited"
        return
    env, why = environment_of(org, account)
    if env is None:
        account.why = why
        return
    account.environment, account.audited = env, True
    account.why = f"ACTIVE, environment {env} ({why})"


def environment_of(org, account: MemberAccount) -> tuple[Optional[str], str]:
    rule = org.environment
    if rule.value:
        return rule.value, "the organization's fixed value"
    if rule.tag:
        raw = account.tags.get(rule.tag)
        if raw is None:
            return None, f"no {rule.tag!r} tag: its environment is unknown, so it is not audited"
        env = canonical_env(raw)
        if env is None:
            return None, f"tag {rule.tag}={raw!r} is not production, staging or development"
        return env, f"tag {rule.tag}={raw}"
    for ou in reversed(account.ou_path):  # the nearest OU with an environment decides
        if ou in rule.ous:
            return rule.ous[ou], f"OU {ou}"
    return None, "in no OU of environment.ous: its environment is unknown, so it is not audited"


def member_role_arn(org, account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{org.role_name}"
