"""Services the specs name beyond the storage core (DAX, AWS Backup, CloudFront, ...): each read live (moto where
it serves the call, botocore's Stubber on the shapes AWS documents where it does not) and from Terraform and
CloudFormation through the same mapping table, then judged by the same rules."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.test_iac_realworld import verdicts


def scan(aws, tmp_path, *packs: str, env: str = "production") -> dict:
    args = [a for p in packs for a in ("--pack", p)]
    result = run_cli("scan", *args, "--env", env, "--region", "us-east-1", "--endpoint-url", aws.endpoint,
                     "--out", str(tmp_path), "--db", str(tmp_path / "h.db"), "--format", "json", endpoint=aws.endpoint)
    assert "Traceback" not in result.stderr, result.stderr
    return result.report()


def gate_files(tmp_path: Path, files: dict[str, str], *packs: str) -> dict:
    folder = tmp_path / "iac"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    args = [a for p in packs or ("baseline",) for a in ("--pack", p)]
    result = run_cli("iac", str(folder), *args, "--env", "production", "--format", "json",
                     "--out", str(tmp_path / "out"), "--no-checkov")
    assert "Traceback" not in result.stderr and result.stderr == "", result.stderr
    (report,) = (tmp_path / "out").glob("*/report.json")
    return json.loads(report.read_text())


# --- DAX -----------------------------------------------------------------------------------------------------

def _dax(aws, name: str, **extra) -> None:
    aws.dax.create_cluster(ClusterName=name, NodeType="dax.r5.large", ReplicationFactor=3,
                           IamRoleArn=f"arn:aws:iam::123456789012:role/{name}", **extra)


def test_dax_clusters_are_judged_live_for_encryption_at_rest_and_tls(aws, tmp_path):
    _dax(aws, "catalog", SSESpecification={"Enabled": True}, ClusterEndpointEncryptionType="TLS")
    _dax(aws, "legacy")  # AWS defaults: no encryption at rest, a plaintext endpoint
    document = scan(aws, tmp_path, "baseline")
    assert {r: f["status"] for r, f in verdicts(document, "catalog").items()} == \
        {"BASE-DAX-001": "pass", "BASE-DAX-002": "pass"}
    legacy = verdicts(document, "legacy")
    assert legacy["BASE-DAX-001"]["status"] == legacy["BASE-DAX-002"]["status"] == "fail"
    assert legacy["BASE-DAX-002"]["actual"] == "NONE"


def test_dax_clusters_are_judged_in_terraform_and_cloudformation(tmp_path):
    document = gate_files(tmp_path, {
        "dax.tf": '''
resource "aws_dax_cluster" "catalog" {
  cluster_name                     = "catalog"
  iam_role_arn                     = "arn:aws:iam::123456789012:role/dax"
  node_type                        = "dax.r5.large"
  replication_factor               = 3
  cluster_endpoint_encryption_type = "TLS"
  server_side_encryption {
    enabled = true
  }
}

resource "aws_dax_cluster" "legacy" {
  cluster_name       = "legacy"
  iam_role_arn       = "arn:aws:iam::123456789012:role/dax"
  node_type          = "dax.t3.small"
  replication_factor = 1
}
''',
        "dax.yaml": '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Sessions:
    Type: AWS::DAX::Cluster
    Properties:
      ClusterName: sessions
      IAMRoleARN: arn:aws:iam::123456789012:role/dax
      NodeType: dax.r5.large
      ReplicationFactor: 3
      SSESpecification: {SSEEnabled: false}
''',
    })
    assert {r: f["status"] for r, f in verdicts(document, "catalog").items()} == \
        {"BASE-DAX-001": "pass", "BASE-DAX-002": "pass"}
    legacy = verdicts(document, "legacy")
    assert legacy["BASE-DAX-001"]["status"] == "fail" and "AWS default" in legacy["BASE-DAX-001"]["message"]
    assert legacy["BASE-DAX-002"]["status"] == "fail"
    sessions = verdicts(document, "sessions")
    assert sessions["BASE-DAX-001"]["status"] == "fail" and sessions["BASE-DAX-001"]["source"]["line"] == 10  # SSESpecification
