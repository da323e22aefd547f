"""Bucket policies as AWS writes and judges them (S3's "meaning of public", AWS Config's
s3-bucket-ssl-requests-only, Security Hub S3.5): the statements below are spelled as the AWS documentation,
public Terraform modules and CloudFormation templates spell them, not as the parser expects."""
from __future__ import annotations

import json

import pytest

from auditor.services.s3.policy import parse_policy

BUCKET = "arn:aws:s3:::acme-data"
OBJECTS = "arn:aws:s3:::acme-data/*"


def policy(*statements: dict):
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def allow(principal, condition=None, action="s3:GetObject", resource=OBJECTS) -> dict:
    statement = {"Sid": "Read", "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize("principal", [
    "*",
    {"AWS": "*"},
    {"AWS": ["*"]},
    {"AWS": ["arn:aws:iam::123456789012:root", "*"]},  # one "*" among accounts is everyone
    {"AWS": ["*", "arn:aws:iam::123456789012:role/reader"], "Service": "cloudfront.amazonaws.com"},
])
def test_every_spelling_of_everyone_is_public(principal):
    assert policy(allow(principal)).allows_public_principal


def test_an_allow_to_everyone_but_some_is_public():
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
                 "Action": "s3:GetObject", "Resource": OBJECTS}
    assert policy(statement).allows_public_principal


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"StringEquals": {"aws:VpceAccount": "123456789012"}},
    {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
    {"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}},
    {"StringEquals": {"AWS:SourceAccount": "123456789012"}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"}},
    {"StringEquals": {"aws:PrincipalAccount": ["123456789012", "210987654321"]}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/app-*"}},
    {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}},
    {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]}},
    {"StringEquals": {"aws:PrincipalAccount": "${data.aws_caller_identity.current.account_id}"}},  # Terraform
])
def test_conditions_that_name_who_make_it_private(condition):
    assert not policy(allow("*", condition)).allows_public_principal


@pytest.mark.parametrize("condition", [
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}},  # any principal of any account
    {"StringLike": {"aws:PrincipalArn": "*"}},
    {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    {"StringLike": {"aws:SourceVpce": ["vpce-1a2b3c4d", "vpce-*"]}},  # one wildcard value opens it
    {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
    {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}},  # everyone but one account
    {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}},  # true for every request not via an endpoint
    {"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/"]}},  # true for an empty set
    {"Bool": {"aws:SecureTransport": "true"}},  # how, not who
    {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
])
def test_conditions_that_name_nobody_leave_it_public(condition):
    assert policy(allow("*", condition)).allows_public_principal


def deny_http(action="s3:*", resource=(BUCKET, OBJECTS), principal="*", condition=None) -> dict:
    return {"Sid": "AllowSSLRequestsOnly", "Effect": "Deny", "Principal": principal, "Action": action,
            "Resource": list(resource),
            "Condition": condition or {"Bool": {"aws:SecureTransport": "false"}}}


@pytest.mark.parametrize("statements", [
    [deny_http()],  # AWS Config's example
    [deny_http(action="*")],
    [deny_http(principal={"AWS": "*"})],
    [deny_http(resource=(BUCKET,)), deny_http(resource=(OBJECTS,))],  # split over two statements
    [deny_http(resource=("${aws_s3_bucket.this[0].arn}", "${aws_s3_bucket.this[0].arn}/*"))],  # Terraform
    [deny_http(resource=({"Fn::GetAtt": ["Bucket", "Arn"]},  # CloudFormation
                         {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]}))],
    [deny_http(resource=({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"},
                         {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"}))],
    [deny_http(resource=("arn:aws:s3:::acme-data*",))],  # the wildcard covers the objects too
    [deny_http(condition={"Bool": {"aws:SecureTransport": False}})],  # YAML's boolean
])
def test_a_deny_of_every_s3_action_over_http_on_bucket_and_objects_is_tls_only(statements):
    assert policy(*statements).denies_insecure_transport


@pytest.mark.parametrize("statements", [
    [deny_http(action="s3:GetObject")],  # uploads over HTTP still allowed
    [deny_http(action=["s3:GetObject", "s3:PutObject"])],
    [deny_http(resource=(OBJECTS,))],  # bucket operations over HTTP still allowed
    [deny_http(resource=(BUCKET,))],
    [deny_http(resource=(BUCKET, "arn:aws:s3:::acme-data/private/*"))],  # one prefix only
    [deny_http(principal={"AWS": "arn:aws:iam::123456789012:root"})],
    [deny_http(condition={"Bool": {"aws:SecureTransport": "false"},
                          "StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/legacy"}})],
    [dict(deny_http(), Effect="Allow")],
    # A bucket ARN chosen by a condition this cannot read covers nothing, not the bucket.
    [deny_http(resource=({"Fn::If": ["Prod", {"Fn::GetAtt": ["Bucket", "Arn"]}, "arn:aws:s3:::other"]}, OBJECTS))],
])
def test_a_partial_deny_is_not_tls_only(statements):
    assert not policy(*statements).denies_insecure_transport


OAI_ARN = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE"


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:GetObject*", "s3:Get*", "s3:*", "*", "S3:GETOBJECT",
                                    ["s3:ListBucket", "s3:GetObjectVersion*", "s3:GetObject*"]])
def test_reads_to_the_cdn_in_every_spelling_templates_use(action):
    read = policy(allow({"AWS": OAI_ARN}, action=action))
    assert (read.grants_reads_to_cdn, read.grants_reads_to_others) == (True, False)
    other = policy(allow({"AWS": "arn:aws:iam::123456789012:role/reader"}, action=action))
    assert (other.grants_reads_to_cdn, other.grants_reads_to_others) == (False, True)


def test_actions_that_are_not_object_reads_grant_none():
    for action in ("s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", ["s3:Put*", "s3:List*"]):
        read = policy(allow({"AWS": "arn:aws:iam::123456789012:role/reader"}, action=action))
        assert not read.grants_reads_to_others, action


def test_not_action_grants_what_it_does_not_name():
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                 "NotAction": ["s3:DeleteBucket"], "Resource": [BUCKET, OBJECTS]}
    assert policy(statement).grants_reads_to_others
    statement["NotAction"] = ["s3:Get*"]
    assert not policy(statement).grants_reads_to_others


def test_a_terraform_origin_access_identity_reference_is_the_cdn():
    read = policy(allow({"AWS": "${aws_cloudfront_origin_access_identity.this.iam_arn}"}, action="s3:GetObject"))
    assert (read.grants_reads_to_cdn, read.grants_reads_to_others) == (True, False)
