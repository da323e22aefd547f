"""A moto server on a free loopback port, for the demo and the tests."""
from __future__ import annotations

import logging
import os
import socket
import urllib.request
from contextlib import contextmanager
from typing import Any, Iterator

import boto3

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's ThreadedMotoServer on 127.0.0.1 and yield its URL; stopped on exit."""
    from moto.server import ThreadedMotoServer

    # Quiet: an access-log line per request otherwise, and a full traceback for each call moto does not implement
    # (the scan reports those as errors itself, with the reason).
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    """Wipe every moto backend, so the next test starts from an empty account."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()


class MockAccount:
    """boto3 clients on a moto endpoint with dummy credentials (never real ones)."""

    def __init__(self, endpoint: str, region: str = REGION):
        self.endpoint = endpoint
        self.region = region
        self.session = boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        if service not in self._clients:
            client = self.session.client(service.replace("_", "-"), endpoint_url=self.endpoint)
            if service == "s3control":  # the account id botocore puts in front of the host does not resolve here
                from auditor.aws import strip_account_prefix

                client.meta.events.register_first("before-send.s3-control.*", strip_account_prefix)
            self._clients[service] = client
        return self._clients[service]


def scan_environment(endpoint: str) -> dict[str, str]:
    """Environment for a scan subprocess against the mock: dummy credentials, no profile, no real config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_CREDENTIALS)
    env["AWS_DEFAULT_REGION"] = REGION
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def db_subnet_group(aws: MockAccount, name: str, public: bool = False) -> str:
    """A VPC with two subnets in a DB subnet group: private (only the local route), or public (a default route
    to an internet gateway in the VPC's main route table)."""
    vpc = aws.ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [aws.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=f"{aws.region}{zone}")
               ["Subnet"]["SubnetId"] for n, zone in enumerate("ab")]
    if public:
        gateway = aws.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        aws.ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
        (main,) = aws.ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                         {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
        aws.ec2.create_route(RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    aws.rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="database subnets",
                                   SubnetIds=subnets)
    return name


def database_security_group(aws: MockAccount, subnet_group: str, open_to_internet: bool = False) -> str:
    """A security group in the DB subnet group's VPC admitting PostgreSQL from the VPC's own range, or, when
    ``open_to_internet``, from anywhere."""
    vpc = aws.rds.describe_db_subnet_groups(DBSubnetGroupName=subnet_group)["DBSubnetGroups"][0]["VpcId"]
    group = aws.ec2.create_security_group(GroupName=f"{subnet_group}-db", Description="database access",
                                          VpcId=vpc)["GroupId"]
    source = "0.0.0.0/0" if open_to_internet else "10.20.0.0/16"
    aws.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": source}]}])
    return group
