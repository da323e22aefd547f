"""Where a resource sits in its VPC, for the services that live in one (RDS, ElastiCache, EFS): whether its
subnets route to an internet gateway, and whether its security groups admit the whole internet.

Both are read the same way live (one DescribeRouteTables / DescribeSecurityGroups per region, shared by every
resource of the run) and in IaC (the route tables and security groups declared beside the resource); what
neither source tells stays unknown, never "private" or "closed".
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Optional

from auditor.services.common import flat
from auditor.services.fetch import AwsCalls, Unreadable
from auditor.services.fields import Defaulted, Unknown, iac_value
from auditor.services.values import clean, get


# What a resource in a VPC without a security group of its own gets: the VPC's default group.
DEFAULT_GROUP_NOTE = "no security group: the VPC's default group, which admits only its own members"


def is_internet_route(cidr: Any, cidr6: Any, gateway: Any, gateway_type: Any = None, igw_type: str = "") -> bool:
    """A default route (0.0.0.0/0 or ::/0) to an internet gateway: what makes a subnet public."""
    to_igw = (isinstance(gateway, str) and gateway.startswith("igw-")) or (igw_type and gateway_type == igw_type)
    return bool(to_igw) and (cidr == "0.0.0.0/0" or cidr6 == "::/0")


def public_subnets(calls: AwsCalls, region: str, vpc_id: Optional[str], subnet_ids: list[str]) -> list[str]:
    """The subnets among ``subnet_ids`` whose route table (an explicit association, else the VPC's main
    table) routes 0.0.0.0/0 or ::/0 to an internet gateway. DescribeRouteTables once per region."""
    def fetch() -> list[dict]:
        paginator = calls.client("ec2", region).get_paginator("describe_route_tables")
        return [t for page in paginator.paginate() for t in page.get("RouteTables", [])]

    tables = calls.once(f"ec2:DescribeRouteTables:{region}", fetch)
    public = []
    for subnet in subnet_ids:
        explicit = [t for t in tables if any(a.get("SubnetId") == subnet for a in t.get("Associations", []))]
        owner = vpc_id or next((t.get("VpcId") for t in explicit), None)
        main = [t for t in tables if t.get("VpcId") == owner and any(a.get("Main") for a in t.get("Associations", []))]
        table = (explicit or main or [None])[0]
        if table is None:
            raise Unreadable(f"no route table applies to subnet {subnet}")
        if any(is_internet_route(r.get("DestinationCidrBlock"), r.get("DestinationIpv6CidrBlock"), r.get("GatewayId"))
               for r in table.get("Routes", [])):
            public.append(subnet)
    return public


_ROUTES = {
    "tf": {"assoc_type": "aws_route_table_association", "assoc_subnet": "subnet_id", "assoc_table": "route_table_id",
           "table_type": "aws_route_table", "inline": "route", "route_type": "aws_route", "route_table": "route_table_id",
           "cidr": "cidr_block|destination_cidr_block", "cidr6": "ipv6_cidr_block|destination_ipv6_cidr_block",
           "gateway": "gateway_id", "igw_type": "aws_internet_gateway"},
    "cfn": {"assoc_type": "AWS::EC2::SubnetRouteTableAssociation", "assoc_subnet": "SubnetId",
            "assoc_table": "RouteTableId", "table_type": "AWS::EC2::RouteTable", "inline": "",
            "route_type": "AWS::EC2::Route", "route_table": "RouteTableId", "cidr": "DestinationCidrBlock",
            "cidr6": "DestinationIpv6CidrBlock", "gateway": "GatewayId", "igw_type": "AWS::EC2::InternetGateway"},
}


def subnets_private_iac(source: str, ctx: Any, subnets: list) -> Any:
    """Does none of ``subnets`` (IaC references) route to an internet gateway? Read through the route table
    associations, tables and routes declared in the IaC; unknown where a subnet has no association there (it
    then uses its VPC's main route table, which the IaC may not show)."""
    k = _ROUTES[source]
    for subnet in subnets:
        associations = ctx.pointing_at(subnet, k["assoc_type"], k["assoc_subnet"])
        if not associations:
            return Unknown(f"subnet {str(ctx.resolve(subnet))[:80]} has no route table association in this IaC "
                           "(it uses its VPC's main route table)")
        table_ref = iac_value(associations[0], k["assoc_table"])
        tables = ctx.named(k["table_type"], table_ref)
        routes = [r for t in tables for r in (ctx.blocks(t, k["inline"]) if k["inline"] else [])]
        routes += ctx.pointing_at(table_ref, k["route_type"], k["route_table"])
        for route in routes:
            gateway = iac_value(route, k["gateway"])
            if is_internet_route(iac_value(route, k["cidr"]), iac_value(route, k["cidr6"]), gateway,
                                 ctx.type_of(gateway), k["igw_type"]):
                return False
    return True


def _open_permission(permission: dict) -> bool:
    return any(is_anywhere(r.get("CidrIp")) for r in permission.get("IpRanges", [])) or \
        any(is_anywhere(r.get("CidrIpv6")) for r in permission.get("Ipv6Ranges", []))


def internet_ingress_groups(calls: AwsCalls, region: str, group_ids: list[str]) -> list[str]:
    """Which of ``group_ids`` admit inbound traffic from anywhere (0.0.0.0/0 or ::/0) on any port.
    DescribeSecurityGroups once per region; a group it does not return cannot be judged."""
    def fetch() -> dict[str, dict]:
        paginator = calls.client("ec2", region).get_paginator("describe_security_groups")
        return {g["GroupId"]: g for page in paginator.paginate() for g in page.get("SecurityGroups", [])}

    groups = calls.once(f"ec2:DescribeSecurityGroups:{region}", fetch)
    missing = [g for g in group_ids if g not in groups]
    if missing:
        raise Unreadable(f"DescribeSecurityGroups did not return {', '.join(missing)}")
    return [g for g in group_ids if any(_open_permission(p) for p in groups[g].get("IpPermissions", []))]


# Terraform: inline ingress blocks, aws_security_group_rule (type ingress) and aws_vpc_security_group_ingress_rule;
# CloudFormation: SecurityGroupIngress inside the group and AWS::EC2::SecurityGroupIngress beside it.
_INGRESS = {
    "tf": {"group_type": "aws_security_group", "inline": "ingress", "cidr": "cidr_blocks", "cidr6": "ipv6_cidr_blocks",
           "rules": (("aws_security_group_rule", "security_group_id", "cidr_blocks", "ipv6_cidr_blocks", "type"),
                     ("aws_vpc_security_group_ingress_rule", "security_group_id", "cidr_ipv4", "cidr_ipv6", None))},
    "cfn": {"group_type": "AWS::EC2::SecurityGroup", "inline": "SecurityGroupIngress", "cidr": "CidrIp",
            "cidr6": "CidrIpv6", "rules": (("AWS::EC2::SecurityGroupIngress", "GroupId", "CidrIp", "CidrIpv6", None),)},
}


# A reference to a VPC's or subnet's own range: never anywhere (a VPC's block is at most a /16).
_NETWORK_RANGE = re.compile(r"^\$?\{?(?:module\.[\w-]+\.)*(?:data\.)?aws_(?:default_)?(?:vpc|subnet)\.[\w-]+(?:\[[^\]]*\])?"
                            r"\.(?:ipv6_)?cidr_block\}?$")


def is_anywhere(source: Any) -> Optional[bool]:
    """Whether an ingress source is the whole internet (a /0, IPv4 or IPv6): True, False, or None when it is
    not a range this reader can tell (a variable, a module output, an iterator checkov left in the text)."""
    if not isinstance(source, str):
        return None
    try:
        return ipaddress.ip_network(source.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False if _NETWORK_RANGE.match(source.strip()) else None


def _admits_anywhere(rule: dict, cidr: str, cidr6: str) -> Any:
    """True if the rule's sources include anywhere, False if not, Unknown if a source cannot be told."""
    verdicts = [(s, is_anywhere(s)) for s in flat(iac_value(rule, cidr)) + flat(iac_value(rule, cidr6))]
    if any(v is True for _, v in verdicts):
        return True
    unknown = next((s for s, v in verdicts if v is None), None)
    return Unknown(f"an ingress source is not a range the IaC resolves ({str(unknown)[:60]})") if unknown is not None \
        else False


def internet_ingress_iac(source: str, groups: str, none_note: str = DEFAULT_GROUP_NOTE):
    """A field reader: the resource's security groups (the attribute ``groups`` names) that admit anywhere,
    from the groups and ingress rules declared in the IaC. A group not declared there leaves it unknown; no
    group at all is the VPC's default group, which admits only its own members (``none_note``)."""
    k = _INGRESS[source]

    def read(props: dict, ctx: Any) -> Any:
        refs = flat(clean(iac_value(props, groups)))
        if not refs:
            return Defaulted([], none_note)
        open_groups = []
        for ref in refs:
            declared = ctx.named(k["group_type"], ref)
            if not declared:
                return Unknown(f"the security group {str(ctx.resolve(ref))[:80]} is not declared in this IaC")
            rules = ctx.blocks(declared[0], k["inline"])
            for rtype, attribute, cidr, cidr6, kind in k["rules"]:
                rules += [(r, cidr, cidr6) for r in ctx.pointing_at(ref, rtype, attribute)
                          if kind is None or get(r, kind) == "ingress"]
            verdicts = [_admits_anywhere(*(r if isinstance(r, tuple) else (r, k["cidr"], k["cidr6"]))) for r in rules]
            if True in verdicts:
                open_groups.append(str(ctx.resolve(ref)))
            elif any(isinstance(v, Unknown) for v in verdicts):
                return next(v for v in verdicts if isinstance(v, Unknown))
        return open_groups
    return read
