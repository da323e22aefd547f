"""Security groups open to the internet and nodes sharing a zone (services/network.py, ElastiCache, RDS): read
live (moto where it serves the call, the Stubber on the shapes AWS documents where it does not) and from
Terraform / CloudFormation as users write them, never "closed" where a source or group is not known."""
from __future__ import annotations

import pytest

from auditor.engine.evaluate import Inventory, evaluate_rule
from auditor.live.collect import fetch_family
from auditor.rules.conditions import Context
from auditor.services import elasticache
from auditor.services.elasticache import ElastiCacheReplicationGroup
from auditor.services.rds import fetch as rds
from auditor.services.rds.model import RDSInstance
from tests.test_collectors import StubbedCalls, _packed_rule, stubbed
from tests.test_iac_realworld import verdicts
from tests.test_spec_services import gate_files

ECOM = {"rds_instance": "product-db-{env}", "session_cache": "session-cache-{env}", "product_cache": "p-{env}",
        "api_cache": "a-{env}"}


def _group_answer(group_id: str, ipv4: list[str], ipv6: list[str]) -> dict:
    return {"GroupId": group_id, "GroupName": group_id, "VpcId": "vpc-1", "IpPermissions": [{
        "IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "IpRanges": [{"CidrIp": c} for c in ipv4],
        "Ipv6Ranges": [{"CidrIpv6": c} for c in ipv6], "UserIdGroupPairs": []}]}


@pytest.mark.parametrize("ipv4, ipv6, verdict", [
    (["10.0.0.0/16"], [], "pass"), (["0.0.0.0/0"], [], "fail"), ([], ["::/0"], "fail"), ([], ["2001:db8::/32"], "pass")])
def test_the_valkey_groups_come_from_its_member_clusters(ipv4, ipv6, verdict):
    """moto lists no member clusters of a replication group (DescribeCacheClusters: CacheClusterNotFound): the
    groups come from the member's SecurityGroups as AWS documents them, then DescribeSecurityGroups judges them."""
    cache, cache_stub = stubbed("elasticache")
    ec2, ec2_stub = stubbed("ec2")
    cache_stub.add_response("describe_cache_clusters", {"CacheClusters": [{
        "CacheClusterId": "officeless-valkey-001", "EngineVersion": "8.0",
        "SecurityGroups": [{"SecurityGroupId": "sg-0a1b2c3d", "Status": "active"}]}]},
        {"CacheClusterId": "officeless-valkey-001"})
    ec2_stub.add_response("describe_security_groups", {"SecurityGroups": [
        _group_answer("sg-0a1b2c3d", ipv4, ipv6), _group_answer("sg-other", ["0.0.0.0/0"], [])]})
    group = ElastiCacheReplicationGroup(id="officeless-valkey", name="officeless-valkey", region="us-east-1",
                                        member_clusters=["officeless-valkey-001"])
    with cache_stub, ec2_stub:
        fetch_family(StubbedCalls({"elasticache": cache, "ec2": ec2}),
                     elasticache.COLLECTOR.families["security_groups"], group)
    assert group.security_group_ids == ["sg-0a1b2c3d"] and not group.unknown
    ctx = Context("production", "production", params={"valkey_group": "officeless-valkey"})
    (finding,) = evaluate_rule(_packed_rule("officeless", "OFL-CACHE-003"), ctx, Inventory([group], ["us-east-1"]))
    assert finding.status == verdict, finding


def test_a_group_describe_security_groups_does_not_return_is_an_error():
    """A group deleted (or in another account) between the two calls: the check cannot be made."""
    ec2, ec2_stub = stubbed("ec2")
    ec2_stub.add_response("describe_security_groups", {"SecurityGroups": [_group_answer("sg-other", [], [])]})
    db = RDSInstance(id="product-db-production", name="product-db-production", region="us-east-1",
                     security_group_ids=["sg-00000000000000000"])
    with ec2_stub:
        fetch_family(StubbedCalls({"ec2": ec2}), rds.COLLECTOR.families["security_groups"], db)
    assert "sg-00000000000000000" in db.unknown["internet_ingress_groups"]
    ctx = Context("production", "production", params=ECOM)
    (finding,) = evaluate_rule(_packed_rule("ecommerce-platform", "ECOM-RDS-027"), ctx, Inventory([db], ["us-east-1"]))
    assert finding.status == "error"


def test_a_database_open_over_ipv6_fails_live(aws, tmp_path):
    """moto serves security groups: an IPv6 rule from ::/0 opens the database as much as 0.0.0.0/0 does."""
    from auditor.demo.ecommerce import build_account
    from tests.conftest import run_here

    build_account(aws, "production")
    (sg,) = [g["GroupId"] for g in aws.ec2.describe_security_groups()["SecurityGroups"]
             if g["GroupName"] == "product-db-production-subnets-db"]
    aws.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    result = run_here("scan", "--pack", "ecommerce-platform", "--env", "production", "--endpoint-url", aws.endpoint,
                      "--out", str(tmp_path), "--format", "json", endpoint=aws.endpoint)
    finding = verdicts(result.report(), "product-db-production")["ECOM-RDS-027"]
    assert finding["status"] == "fail" and finding["actual"] == [sg]


TF_DB = '''
resource "aws_db_instance" "db" {
  identifier             = "product-db-production"
  engine                 = "postgres"
  instance_class         = "db.r6g.2xlarge"
  vpc_security_group_ids = %s
}
'''


@pytest.mark.parametrize("groups, extra, verdict", [
    # a group written inline, from the application's group only
    ("[aws_security_group.db.id]", '''
resource "aws_security_group" "app" { name = "app" }
resource "aws_security_group" "db" {
  name = "db"
  ingress {
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
}''', "pass"),
    # the provider's newer rule resources, one from anywhere over IPv6
    ("[aws_security_group.db.id]", '''
resource "aws_security_group" "db" { name = "db" }
resource "aws_vpc_security_group_ingress_rule" "anywhere" {
  security_group_id = aws_security_group.db.id
  cidr_ipv6         = "::/0"
  from_port         = 5432
  to_port           = 5432
  ip_protocol       = "tcp"
}''', "fail"),
    # an egress rule to anywhere opens nothing
    ("[aws_security_group.db.id]", '''
resource "aws_security_group" "db" { name = "db" }
resource "aws_security_group_rule" "out" {
  type              = "egress"
  from_port         = 0
  to_port           = 0
  protocol          = "-1"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.db.id
}''', "pass"),
    # sources from a variable without a value: not known, so not judged closed
    ("[aws_security_group.db.id]", '''
variable "allowed" { type = list(string) }
resource "aws_security_group" "db" { name = "db" }
resource "aws_security_group_rule" "in" {
  type              = "ingress"
  from_port         = 5432
  to_port           = 5432
  protocol          = "tcp"
  cidr_blocks       = var.allowed
  security_group_id = aws_security_group.db.id
}''', "error"),
    # a group made elsewhere (a module's output, an id): not declared here
    ('["sg-0123456789abcdef0"]', "", "error"),
])
def test_database_security_groups_in_terraform(tmp_path, groups, extra, verdict):
    document = gate_files(tmp_path, {"db.tf": TF_DB % groups + extra}, "ecommerce-platform")
    assert verdicts(document, "product-db-production")["ECOM-RDS-027"]["status"] == verdict


@pytest.mark.parametrize("zones, multi_az, verdict", [
    ('["us-east-1a", "us-east-1b", "us-east-1c"]', "true", "pass"),
    ('["us-east-1a", "us-east-1b", "us-east-1b"]', "true", "fail"),
    (None, "true", "pass")])  # AWS spreads a Multi-AZ group over its subnet group's zones
def test_cache_nodes_one_per_zone_in_terraform(tmp_path, zones, multi_az, verdict):
    zone_line = f"  preferred_cache_cluster_azs = {zones}\n" if zones else ""
    document = gate_files(tmp_path, {"cache.tf": f'''
resource "aws_elasticache_replication_group" "sessions" {{
  replication_group_id       = "session-cache-production"
  description                = "sessions"
  node_type                  = "cache.r6g.large"
  num_cache_clusters         = 3
  multi_az_enabled           = {multi_az}
  automatic_failover_enabled = true
{zone_line}}}
'''}, "ecommerce-platform")
    finding = verdicts(document, "session-cache-production")["ECOM-CACHE-004"]
    assert finding["status"] == verdict, finding
    if verdict == "fail":
        assert finding["property"] == "nodes_in_distinct_zones"


def test_cache_nodes_whose_zones_the_answer_leaves_out_are_not_judged_distinct():
    raw = {"ReplicationGroupId": "session-cache-production", "MemberClusters": ["s-001", "s-002", "s-003"],
           "MultiAZ": "enabled", "AutomaticFailover": "enabled",
           "NodeGroups": [{"NodeGroupId": "0001", "NodeGroupMembers": [
               {"CacheClusterId": "s-001", "PreferredAvailabilityZone": "us-east-1a"},
               {"CacheClusterId": "s-002", "PreferredAvailabilityZone": "us-east-1b"},
               {"CacheClusterId": "s-003"}]}]}
    group = elasticache.group_from(raw, "us-east-1", "123456789012")
    assert "Availability Zone" in group.unknown["nodes_in_distinct_zones"]
    ctx = Context("production", "production", params=ECOM)
    (finding,) = evaluate_rule(_packed_rule("ecommerce-platform", "ECOM-CACHE-004"), ctx,
                               Inventory([group], ["us-east-1"]))
    assert finding.status == "error"


# --- EFS: TLS-only mounts and mount targets in private subnets -------------------------------------------------

def _statement(**overrides) -> dict:
    statement = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    statement.update(overrides)
    return {k: v for k, v in statement.items() if v is not None}


@pytest.mark.parametrize("statement, required", [
    (_statement(), True),
    (_statement(Action=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]), True),
    (_statement(Action="elasticfilesystem:*", Principal="*"), True),
    (_statement(Action="elasticfilesystem:ClientRootAccess"), False),  # plain mounts still allowed
    (_statement(Principal={"AWS": "arn:aws:iam::123456789012:role/app"}), False),  # one principal only
    (_statement(Effect="Allow", Condition={"Bool": {"aws:SecureTransport": "true"}}), False),  # allows, denies nothing
    (_statement(Condition={"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:PrincipalAccount": "1"}}),
     False)])  # narrowed by a second condition
def test_tls_for_efs_is_a_deny_of_plain_mounts_for_everyone(statement, required):
    from auditor.services.efs import denies_mounts_without_tls

    assert denies_mounts_without_tls([statement]) is required


def test_tls_for_efs_is_read_live_and_a_missing_policy_fails(aws, tmp_path):
    """moto serves file system policies (PolicyNotFound when there is none, which is a fact: no TLS demanded)."""
    import json

    from tests.conftest import run_here

    plain = aws.efs.create_file_system(CreationToken="plain", Tags=[{"Key": "Name", "Value": "eks_production"}])
    config = tmp_path / "config.yaml"
    config.write_text("parameters:\n  officeless:\n    valkey_group: v\n    eks_cluster: c\n")

    def verdict() -> dict:
        result = run_here("scan", "--pack", "officeless", "--env", "production", "--endpoint-url", aws.endpoint,
                          "--config", str(config), "--out", str(tmp_path), "--format", "json", endpoint=aws.endpoint)
        return verdicts(result.report(), "eks_production")["OFL-EFS-008"]

    assert verdict()["status"] == "fail"
    aws.efs.put_file_system_policy(FileSystemId=plain["FileSystemId"], Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [_statement()]}))
    assert verdict()["status"] == "pass"


TF_EFS = '''
resource "aws_efs_file_system" "eks" {
  creation_token = "eks_production"
  encrypted      = true
  tags           = { Name = "eks_production" }
}
resource "aws_vpc" "eks" { cidr_block = "10.0.0.0/16" }
resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.eks.id
  cidr_block = "10.0.0.0/24"
}
resource "aws_efs_mount_target" "a" {
  file_system_id = aws_efs_file_system.eks.id
  subnet_id      = aws_subnet.a.id
}
resource "aws_route_table" "a" { vpc_id = aws_vpc.eks.id }
%s
'''


@pytest.mark.parametrize("routes, verdict", [
    ('''resource "aws_internet_gateway" "igw" { vpc_id = aws_vpc.eks.id }
resource "aws_route" "out" {
  route_table_id         = aws_route_table.a.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.igw.id
}
resource "aws_route_table_association" "a" {
  subnet_id      = aws_subnet.a.id
  route_table_id = aws_route_table.a.id
}''', False),
    ('''resource "aws_route_table_association" "a" {
  subnet_id      = aws_subnet.a.id
  route_table_id = aws_route_table.a.id
}''', True),
    # the subnet's association made elsewhere (its VPC's main table, or another stack): not known
    ("", None),
    # associations made for_each over the subnets, through each.value, to a table with an internet route
    ('''resource "aws_internet_gateway" "igw" { vpc_id = aws_vpc.eks.id }
resource "aws_route_table" "public" {
  vpc_id = aws_vpc.eks.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.igw.id
  }
}
resource "aws_route_table_association" "a" {
  for_each       = { a = aws_subnet.a }
  subnet_id      = each.value.id
  route_table_id = aws_route_table.public.id
}''', False)])
def test_mount_targets_in_public_subnets_in_terraform(tmp_path, routes, verdict):
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.load import iac_resources

    (tmp_path / "main.tf").write_text(TF_EFS % routes)
    resources = iac_resources(run_checkov(tmp_path, [], with_checks=False), "us-east-1")
    (fs,) = [r for r in resources if r.type == "AWS::EFS::FileSystem"]
    assert fs.mount_targets_private is verdict
    if verdict is None:
        assert "route table association" in fs.unknown["mount_targets_private"]


# The statement terraform-aws-modules/s3-bucket writes for attach_deny_insecure_transport_policy; %s: resources.
DENY_PLAIN_HTTP = '''  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [%s]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
'''


def test_a_bucket_policy_for_each_checkov_cannot_evaluate_is_unknown_not_present(tmp_path):
    """A companion written for_each over a `for` expression (checkov leaves it one block, bucket naming
    each.key): which buckets it covers is not known, so their TLS check is an error, never a pass."""
    document = gate_files(tmp_path, {"main.tf": '''
locals { names = ["a", "b"] }
resource "aws_s3_bucket" "logs" {
  for_each = toset(local.names)
  bucket   = "logs-${each.key}"
}
data "aws_iam_policy_document" "tls" {
%s}
resource "aws_s3_bucket_policy" "logs" {
  for_each = toset([for n in local.names : n if n != "b"])
  bucket   = aws_s3_bucket.logs[each.key].id
  policy   = data.aws_iam_policy_document.tls.json
}
''' % (DENY_PLAIN_HTTP % '"arn:aws:s3:::logs-*", "arn:aws:s3:::logs-*/*"')})
    for name in ("logs-a", "logs-b"):
        finding = verdicts(document, name)["BASE-S3-003"]
        assert finding["status"] == "error" and "for_each" in finding["message"], finding


def test_a_policy_document_data_source_is_read_as_the_policy_it_renders(tmp_path):
    document = gate_files(tmp_path, {"main.tf": '''
resource "aws_s3_bucket" "logs" { bucket = "logs" }
data "aws_iam_policy_document" "tls" {
  statement {
    sid       = "AllowReads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::123456789012:root"]
    }
  }
%s}
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.tls.json
}
''' % (DENY_PLAIN_HTTP % 'aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"')})
    assert verdicts(document, "logs")["BASE-S3-003"]["status"] == "pass"


def test_a_policy_document_merged_from_others_is_not_read(tmp_path):
    """source_policy_documents bring statements this block does not show: the policy is unknown."""
    document = gate_files(tmp_path, {"main.tf": '''
resource "aws_s3_bucket" "logs" { bucket = "logs" }
data "aws_iam_policy_document" "combined" {
  source_policy_documents = [var.extra_policy]
}
variable "extra_policy" { type = string }
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.combined.json
}
'''})
    assert verdicts(document, "logs")["BASE-S3-003"]["status"] == "error"


def test_a_bucket_read_that_fails_leaves_only_its_own_properties_unknown(tmp_path, monkeypatch):
    """Each family of a Terraform bucket is read apart: a policy checkov left in a shape the reader chokes on
    makes the policy unknown (its rules error), and versioning or Object Lock stay as declared."""
    import auditor.iac.terraform as terraform
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.load import iac_resources

    def choke(text):
        raise ValueError("a shape the reader does not know")

    monkeypatch.setattr(terraform, "parse_policy", choke)
    (tmp_path / "main.tf").write_text('''
resource "aws_s3_bucket" "logs" {
  bucket              = "logs"
  object_lock_enabled = true
}
resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}
''')
    (bucket,) = [r for r in iac_resources(run_checkov(tmp_path, [], with_checks=False), "us-east-1")
                 if r.type == "AWS::S3::Bucket"]
    assert set(bucket.unknown) == {"policy"} and "ValueError" in bucket.unknown["policy"]
    assert bucket.versioning.status == "Enabled" and bucket.object_lock.enabled is True


@pytest.mark.parametrize("zones, az_mode, distinct", [
    ('["us-east-1a", "us-east-1b", "us-east-1c"]', "cross-az", True),
    ('["us-east-1a", "us-east-1a", "us-east-1b"]', "cross-az", False),
    (None, "cross-az", True),  # AWS spreads a cross-az cluster's nodes
    (None, "single-az", False)])
def test_a_cache_clusters_nodes_zones_in_terraform(tmp_path, zones, az_mode, distinct):
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.load import iac_resources

    zone_line = f"  preferred_availability_zones = {zones}\n" if zones else ""
    (tmp_path / "main.tf").write_text(f'''
resource "aws_elasticache_cluster" "sessions" {{
  cluster_id      = "sessions"
  engine          = "memcached"
  node_type       = "cache.r6g.large"
  num_cache_nodes = 3
  az_mode         = "{az_mode}"
{zone_line}}}
''')
    (cache,) = iac_resources(run_checkov(tmp_path, [], with_checks=False), "us-east-1")
    assert cache.nodes_in_distinct_zones is distinct


def test_an_unset_variable_in_a_nested_block_leaves_the_resources_own_attribute_alone(tmp_path):
    """`name = var.hash_key` inside an attribute block (no value given) is that block's, not the table's name."""
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.load import iac_resources

    (tmp_path / "main.tf").write_text('''
variable "hash_key" { type = string }
resource "aws_dynamodb_table" "products" {
  name         = "Products-production"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = var.hash_key
  attribute {
    name = var.hash_key
    type = "S"
  }
}
''')
    (table,) = iac_resources(run_checkov(tmp_path, [], with_checks=False), "us-east-1")
    assert table.name == "Products-production"
    assert "key_schema" in table.unknown  # the key itself is not known


@pytest.mark.parametrize("source, anywhere", [
    ("0.0.0.0/0", True), ("::/0", True), ("0000:0000::/0", True), ("10.0.0.0/8", False), ("2001:db8::/32", False),
    ("aws_vpc.main.cidr_block", False), ("${data.aws_vpc.this.cidr_block}", False),  # a VPC's own range
    ("var.allowed", None), ("ingress.value.cidr", None), ("[ingress.value.cidr]", None), ({"Ref": "Cidr"}, None)])
def test_what_counts_as_anywhere(source, anywhere):
    from auditor.services.network import is_anywhere

    assert is_anywhere(source) is anywhere


@pytest.mark.parametrize("for_each", ["var.rules", "var.known"])
def test_a_dynamic_ingress_checkov_leaves_unrendered_is_unknown_not_closed(tmp_path, for_each):
    """A dynamic ingress over a variable without a value, and one over a known list whose content checkov
    leaves reading the iterator: neither may read as "no source from anywhere"."""
    document = gate_files(tmp_path, {"main.tf": '''
variable "rules" { type = list(object({ cidr = string })) }
variable "known" {
  default = [{ cidr = "0.0.0.0/0" }]
}
resource "aws_security_group" "db" {
  name = "db"
  dynamic "ingress" {
    for_each = %s
    content {
      from_port   = 5432
      to_port     = 5432
      protocol    = "tcp"
      cidr_blocks = [ingress.value.cidr]
    }
  }
}
resource "aws_db_instance" "db" {
  identifier             = "product-db-production"
  engine                 = "postgres"
  vpc_security_group_ids = [aws_security_group.db.id]
}
''' % for_each}, "ecommerce-platform")
    assert verdicts(document, "product-db-production")["ECOM-RDS-027"]["status"] == "error"


def test_a_policy_document_with_dynamic_statements_is_not_read_as_empty(tmp_path):
    """checkov leaves a dynamic "statement" block unexpanded: the policy is unknown, not one without statements
    (which would read as granting nobody anything)."""
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.tfpolicy import policy_documents

    (tmp_path / "main.tf").write_text('''
variable "readers" { type = list(string) }
resource "aws_s3_bucket" "logs" { bucket = "logs" }
data "aws_iam_policy_document" "p" {
  dynamic "statement" {
    for_each = var.readers
    content {
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.logs.arn}/*"]
      principals {
        type        = "*"
        identifiers = [statement.value]
      }
    }
  }
}
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.p.json
}
''')
    assert policy_documents(run_checkov(tmp_path, [], with_checks=False).terraform) == \
        {"data.aws_iam_policy_document.p": None}
    (tmp_path / "gate").mkdir()
    document = gate_files(tmp_path / "gate", {"main.tf": (tmp_path / "main.tf").read_text()})
    found = verdicts(document, "logs")
    assert found["BASE-S3-003"]["status"] == "error"
    assert found["BASE-S3-004"]["status"] == "error"  # a statement for "*" may be in it: never "no public grant"
