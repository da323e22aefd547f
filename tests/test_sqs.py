"""SQS queues, the resource type added in one service module (auditor/services/sqs.py) and one registry line:
judged live (moto over HTTP), in Terraform and in CloudFormation by the same two baseline rules."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.engine.evaluate import Inventory, evaluate_rules
from auditor.engine.plan import contexts_for
from auditor.rules.load import load_pack
from auditor.rules.pack import builtin_packs_dir
from auditor.runs.gate import iac_audit
from auditor.services.sqs import SQSQueue, redrive_of
from tests.conftest import run_here

FIXTURES = Path(__file__).parent / "fixtures" / "iac" / "sqs"


@pytest.fixture(scope="module")
def baseline():
    return load_pack(builtin_packs_dir() / "baseline.yaml")


def verdicts(findings, prefix: str = "BASE-SQS-") -> dict[tuple[str, str], str]:
    return {(f["rule_id"] if isinstance(f, dict) else f.rule_id,
             f["resource"]["name"] if isinstance(f, dict) else f.resource.name):
            (f["status"] if isinstance(f, dict) else f.status)
            for f in findings if (f["rule_id"] if isinstance(f, dict) else f.rule_id).startswith(prefix)}


def judge(baseline, queue: SQSQueue) -> dict[str, str]:
    contexts = contexts_for([baseline], "production", "123456789012", {})
    findings = evaluate_rules([r for r in baseline.rules if r.id.startswith("BASE-SQS-")], "production", contexts,
                              Inventory([queue], ["us-east-1"]), {})
    return {f.rule_id: f.status for f in findings}


def queue(**props) -> SQSQueue:
    return SQSQueue(id="q", name="q", region="us-east-1", **props)


@pytest.mark.parametrize("props, expected", [
    ({"encryption": "SSE-SQS", "dead_letter_target": "q-dlq"}, {"BASE-SQS-001": "pass", "BASE-SQS-002": "pass"}),
    ({"encryption": "SSE-KMS", "is_dead_letter_queue": True}, {"BASE-SQS-001": "pass", "BASE-SQS-002": "pass"}),
    ({"encryption": "NONE", "is_dead_letter_queue": False}, {"BASE-SQS-001": "fail", "BASE-SQS-002": "fail"}),
    ({"unknown": {"encryption": "AccessDenied", "dead_letter_target": "AccessDenied",
                  "is_dead_letter_queue": "AccessDenied"}}, {"BASE-SQS-001": "error", "BASE-SQS-002": "error"}),
])
def test_the_baseline_rules_on_plain_queues(baseline, props, expected):
    assert judge(baseline, queue(**props)) == expected


def test_a_redrive_policy_is_read_as_aws_returns_it_and_as_templates_write_it():
    policy = {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dlq", "maxReceiveCount": "4"}
    assert redrive_of(json.dumps(policy)) == policy  # GetQueueAttributes: a JSON string
    assert redrive_of([policy]) == policy  # checkov's HCL: a one-item list
    assert redrive_of(None) == {} and redrive_of("") == {}
    with pytest.raises(ValueError, match="not JSON"):
        redrive_of("{deadLetterTargetArn")


def test_live_queues_judged_through_the_api(aws, tmp_path):
    sqs = aws.sqs
    dlq = sqs.create_queue(QueueName="orders-dlq", Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName="orders", Attributes={
        "KmsMasterKeyId": "alias/aws/sqs",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "4"})},
        tags={"team": "shop"})
    sqs.create_queue(QueueName="audit-events", Attributes={"SqsManagedSseEnabled": "false"})
    result = run_here("scan", "--pack", "baseline", "--env", "production", "--region", "us-east-1",
                     "--endpoint-url", aws.endpoint, "--out", str(tmp_path), "--db", str(tmp_path / "h.db"),
                     "--format", "json", endpoint=aws.endpoint)
    assert "Traceback" not in result.stderr, result.stderr
    report = result.report()
    assert verdicts(report["findings"]) == {
        ("BASE-SQS-001", "orders-dlq"): "pass", ("BASE-SQS-002", "orders-dlq"): "pass",  # it is the DLQ
        ("BASE-SQS-001", "orders"): "pass", ("BASE-SQS-002", "orders"): "pass",
        ("BASE-SQS-001", "audit-events"): "fail", ("BASE-SQS-002", "audit-events"): "fail",
    }
    failing = next(f for f in report["findings"] if f["rule_id"] == "BASE-SQS-001" and f["status"] == "fail")
    assert failing["actual"] == "NONE" and failing["resource"]["arn"].endswith(":audit-events")


def test_terraform_queues_judged_with_defaults_and_companions(baseline):
    result = iac_audit(FIXTURES / "terraform", [baseline], "production", {}, [], "us-east-1", None, False, [])
    assert verdicts(result.findings) == {
        ("BASE-SQS-001", "orders-dlq"): "pass", ("BASE-SQS-002", "orders-dlq"): "pass",
        ("BASE-SQS-001", "orders"): "pass", ("BASE-SQS-002", "orders"): "pass",
        ("BASE-SQS-001", "audit-events"): "fail", ("BASE-SQS-002", "audit-events"): "fail",
        # SSE-SQS by AWS default; the DLQ by an aws_sqs_queue_redrive_policy
        ("BASE-SQS-001", "emails.fifo"): "pass", ("BASE-SQS-002", "emails.fifo"): "pass",
        ("BASE-SQS-001", "emails-dlq.fifo"): "pass", ("BASE-SQS-002", "emails-dlq.fifo"): "pass",
    }
    emails = next(f for f in result.findings if f.rule_id == "BASE-SQS-001" and f.resource.name == "emails.fifo")
    assert "SSE-SQS, on by default" in emails.message
    audit = next(f for f in result.findings if f.rule_id == "BASE-SQS-001" and f.resource.name == "audit-events")
    assert audit.source.file.endswith("main.tf") and audit.source.line == 21


def test_cloudformation_queues_judged_through_the_cli(tmp_path):
    result = run_here("iac", str(FIXTURES / "cloudformation"), "--pack", "baseline", "--env", "production",
                     "--format", "json", "--out", str(tmp_path), "--no-checkov", "--fail-on", "medium")
    assert result.code == 1 and result.stderr == "", result.stderr
    assert "queues.yaml" in result.stdout and ":17" in result.stdout  # file and line of audit-events
    (report,) = tmp_path.glob("*/report.json")
    assert verdicts(json.loads(report.read_text())["findings"]) == {
        ("BASE-SQS-001", "orders-dlq"): "pass", ("BASE-SQS-002", "orders-dlq"): "pass",
        ("BASE-SQS-001", "orders"): "pass", ("BASE-SQS-002", "orders"): "pass",
        ("BASE-SQS-001", "audit-events"): "fail", ("BASE-SQS-002", "audit-events"): "fail",
    }


def test_an_sse_switch_the_iac_does_not_resolve_is_error_never_none(tmp_path, baseline):
    """sqs_managed_sse_enabled = var.sse (no default): encryption cannot be told, so BASE-SQS-001 is error with
    the reason, not a fail for "NONE" (nor a pass); a key named by a reference is still SSE-KMS."""
    (tmp_path / "main.tf").write_text('''
variable "sse" {}
resource "aws_kms_key" "queues" {}
resource "aws_sqs_queue" "switched" {
  name                    = "switched"
  sqs_managed_sse_enabled = var.sse
}
resource "aws_sqs_queue" "keyed" {
  name              = "keyed"
  kms_master_key_id = aws_kms_key.queues.arn
}
''')
    result = iac_audit(tmp_path, [baseline], "production", {}, [], "us-east-1", None, False, [])
    found = {f.resource.name: f for f in result.findings if f.rule_id == "BASE-SQS-001"}
    assert found["switched"].status == "error" and "var.sse" in found["switched"].message
    assert found["keyed"].status == "pass"
