"""Where a scan looks: several regions at once, an assumed role, and only the calls the rules need."""
from __future__ import annotations

import textwrap

from tests.conftest import findings_by, run_here

PITR_PACK = """\
pack: {id: pitr-only, title: PITR only}
rules:
  - id: PITR-DDB-001
    title: Tables have PITR
    control: pitr
    severity: high
    spec_ref: "test §1"
    remediation: "aws dynamodb update-continuous-backups ..."
    resource: {type: "AWS::DynamoDB::Table"}
    check: {key: pitr.status, equals: ENABLED}
"""


def make_table(client, name):
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")


def write_pack(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pitr-only.yaml").write_text(textwrap.dedent(PITR_PACK))
    config = tmp_path / "config.yaml"
    config.write_text("rules_dir: rules\nformats: [json]\n")
    return config


def test_regions_are_scanned_together_and_findings_say_where(aws, tmp_path):
    import boto3

    west = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=aws.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    make_table(aws.dynamodb, "orders")
    make_table(west, "orders-eu")
    west.update_continuous_backups(TableName="orders-eu",
                                   PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    config = write_pack(tmp_path)
    result = run_here("--config", str(config), "scan", "--pack", "pitr-only", "--region", "us-east-1",
                     "--region", "eu-west-1", "--endpoint-url", aws.endpoint, "--out", str(tmp_path),
                     endpoint=aws.endpoint)
    document = result.report()
    assert document["run"]["regions"] == ["us-east-1", "eu-west-1"]
    (east,) = findings_by(document, resource="orders")
    (eu,) = findings_by(document, resource="orders-eu")
    assert (east["status"], east["resource"]["region"]) == ("fail", "us-east-1")
    assert (eu["status"], eu["resource"]["region"]) == ("pass", "eu-west-1")
    assert eu["resource"]["arn"].startswith("arn:aws:dynamodb:eu-west-1:")
    assert result.code == 1
    # one identity call, one listing per region, one PITR read per table: nothing the rule does not need
    assert document["run"]["api_calls_by_service"] == {"dynamodb": 4, "sts": 1}
    assert document["run"]["api_calls"] == 5


def test_assumed_role_is_used_for_the_scan(aws, tmp_path):
    make_table(aws.dynamodb, "orders")
    config = write_pack(tmp_path)
    result = run_here("--config", str(config), "scan", "--pack", "pitr-only", "--role-arn",
                     "arn:aws:iam::123456789012:role/auditor-readonly", "--external-id", "x-1",
                     "--endpoint-url", aws.endpoint, "--out", str(tmp_path), endpoint=aws.endpoint)
    document = result.report()
    assert findings_by(document, resource="orders")[0]["status"] == "fail"
    assert "x-1" not in result.stdout


def test_all_targets_run_concurrently_and_one_failure_does_not_stop_the_others(aws, tmp_path):
    from auditor.demo.mockaws import free_port
    from auditor.history.store import HistoryStore

    make_table(aws.dynamodb, "orders")
    config = write_pack(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    config.write_text(config.read_text() + textwrap.dedent(f"""\
        db: {tmp_path / 'fleet.db'}
        out: {tmp_path / 'reports'}
        targets:
          - {{name: shop-a, packs: [pitr-only], endpoint_url: {aws.endpoint}}}
          - {{name: shop-b, packs: [pitr-only], endpoint_url: {aws.endpoint},
              role_arn: "arn:aws:iam::123456789012:role/auditor", external_id: ext-1}}
          - {{name: gone, packs: [pitr-only], endpoint_url: {dead}}}
        """))
    result = run_here("--config", str(config), "scan", "--all-targets", "--parallel", "3", endpoint=aws.endpoint)
    assert result.code == 3, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert "1 fail" in lines["shop-a"] and "1 fail" in lines["shop-b"]
    assert lines["gone"].startswith("could not audit: endpoint unreachable")
    runs = {r["target"]: r["status"] for r in HistoryStore(tmp_path / "fleet.db").runs()}
    assert runs == {"shop-a": "complete", "shop-b": "complete", "gone": "failed"}
    assert "ext-1" not in (tmp_path / "fleet.db").read_bytes().decode("latin-1")


def test_s3_costs_one_listing_per_region_and_one_call_per_bucket_and_property(aws, tmp_path):
    import boto3

    west = boto3.client("s3", region_name="eu-west-1", endpoint_url=aws.endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")
    for name in ("logs-a", "logs-b"):
        aws.s3.create_bucket(Bucket=name)
    west.create_bucket(Bucket="logs-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    aws.s3.put_bucket_versioning(Bucket="logs-a", VersioningConfiguration={"Status": "Enabled"})
    result = run_here("scan", "--pack", "baseline", "--region", "us-east-1", "--region", "eu-west-1", "--endpoint-url",
                     aws.endpoint, "--out", str(tmp_path), "--db", str(tmp_path / "h.db"), "--format", "json",
                     endpoint=aws.endpoint)
    document = result.report()
    regions = {f["resource"]["name"]: f["resource"]["region"] for f in document["findings"]}
    assert regions == {"logs-a": "us-east-1", "logs-b": "us-east-1", "logs-eu": "eu-west-1"}
    # baseline reads 5 S3 property families (versioning, encryption, public access block and the account's,
    # policy): 2 listings + 3 buckets x 4 bucket families + 1 account-level read, and nothing else
    assert document["run"]["api_calls_by_service"]["s3"] == 2 + 3 * 4
    assert document["run"]["api_calls_by_service"]["s3control"] == 1
