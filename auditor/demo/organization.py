"""A simulated AWS Organization on a moto server, for the tests and bench/org_bench.py.

Moto keeps each account's resources apart once it is reached by AssumeRole, so each member account gets its
own buckets and tables, made with credentials of a role assumed in it, as auditor will reach it. OUs split
production from staging, accounts carry an ``environment`` tag, and every ``drift_every``-th account has a
bucket with versioning suspended and a table without point-in-time recovery.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import boto3

from auditor.demo.mockaws import FAKE_CREDENTIALS, REGION

ROLE = "auditor-readonly"


@dataclass
class SimulatedOrganization:
    root: str
    ous: dict[str, str]  # name -> OU id
    accounts: dict[str, dict] = field(default_factory=dict)  # id -> {name, ou, environment, drifted, status}

    def ids(self, **where) -> list[str]:
        return sorted(a for a, info in self.accounts.items() if all(info.get(k) == v for k, v in where.items()))


def session_in(endpoint: str, account_id: str) -> boto3.Session:
    """Credentials of the auditor role in a member account, as moto issues them."""
    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="builder")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)


def fill_account(endpoint: str, account_id: str, drifted: bool, buckets: int = 2, tables: int = 1) -> None:
    session = session_in(endpoint, account_id)
    s3 = session.client("s3", endpoint_url=endpoint)
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    for n in range(buckets):
        name = f"data-{account_id}-{n}"
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
            "Status": "Suspended" if drifted and n == 0 else "Enabled"})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    for n in range(tables):
        table = f"orders-{n}"
        ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        if not drifted:
            ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})


def build_organization(endpoint: str, accounts: int = 6, drift_every: int = 3, suspended: int = 1,
                       untagged: int = 1, buckets: int = 2, tables: int = 1) -> SimulatedOrganization:
    """``accounts`` members split between OUs prod (and its child prod-eu) and staging; the last ``suspended``
    are closed (SUSPENDED) and ``untagged`` before them carry no environment tag."""
    org = boto3.client("organizations", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    prod_eu = org.create_organizational_unit(ParentId=prod, Name="prod-eu")["OrganizationalUnit"]["Id"]
    staging = org.create_organizational_unit(ParentId=root, Name="staging")["OrganizationalUnit"]["Id"]
    sim = SimulatedOrganization(root, {"prod": prod, "prod-eu": prod_eu, "staging": staging})
    for n in range(accounts):
        ou_name = ("prod", "prod-eu", "staging")[n % 3]
        environment = "staging" if ou_name == "staging" else "production"
        tagged = not (accounts - suspended - untagged <= n < accounts - suspended)
        tags = [{"Key": "environment", "Value": environment}] if tagged else []
        status = org.create_account(Email=f"member{n}@example.com", AccountName=f"member-{n:03d}", Tags=tags)
        account_id = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=sim.ous[ou_name])
        drifted = n % drift_every == 0
        sim.accounts[account_id] = {"name": f"member-{n:03d}", "ou": ou_name, "environment": environment,
                                    "tagged": tagged, "drifted": drifted, "status": "ACTIVE"}
        fill_account(endpoint, account_id, drifted, buckets, tables)
    for account_id in list(sim.accounts)[accounts - suspended:]:
        org.close_account(AccountId=account_id)
        sim.accounts[account_id]["status"] = "SUSPENDED"
    return sim
