"""RDS DB instances and Aurora clusters as rules see them."""
from __future__ import annotations

from typing import ClassVar, Optional

from pydantic import Field

from auditor.services.model import Resource



class RDSInstance(Resource):
    type: ClassVar[str] = "AWS::RDS::DBInstance"
    engine: Optional[str] = None
    engine_version: Optional[str] = None
    engine_major_version: Optional[str] = None
    instance_class: Optional[str] = None
    storage_type: Optional[str] = None
    allocated_storage_gb: Optional[int] = None
    multi_az: Optional[bool] = None
    backup_retention_days: Optional[int] = None
    storage_encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    performance_insights_enabled: Optional[bool] = None
    performance_insights_retention_days: Optional[int] = None
    deletion_protection: Optional[bool] = None
    publicly_accessible: Optional[bool] = None
    iam_auth_enabled: Optional[bool] = None
    parameter_groups: list[str] = Field(default_factory=list)
    cloudwatch_logs_exports: list[str] = Field(default_factory=list)
    read_replica_ids: list[str] = Field(default_factory=list)
    read_replica_count: int = 0
    replica_source: Optional[str] = None
    is_read_replica: bool = False
    db_name: Optional[str] = None  # the database created with the instance (DBName)
    availability_zone: Optional[str] = None  # where the instance (or a replica) runs
    # The most connections the engine accepts: its parameter group's max_connections, a number or the engine's
    # formula of the class memory (LEAST({DBInstanceClassMemory/9531392},5000) for PostgreSQL).
    max_connections: Optional[int] = None
    # PostgreSQL's rds.force_ssl in the parameter group: every connection must use TLS (None for other engines).
    force_ssl: Optional[bool] = None
    # The lowest threshold of its DatabaseConnections alarms, as a share of max_connections in % (linked).
    connection_alarm_share: Optional[float] = None
    subnet_ids: list[str] = Field(default_factory=list)  # of its DB subnet group
    vpc_id: Optional[str] = None
    # No subnet of its DB subnet group routes 0.0.0.0/0 (or ::/0) to an internet gateway.
    in_private_subnets: Optional[bool] = None
    security_group_ids: list[str] = Field(default_factory=list)
    # Its VPC security groups that admit inbound traffic from anywhere (0.0.0.0/0 or ::/0).
    internet_ingress_groups: list[str] = Field(default_factory=list)
    # Regions its automated backups are replicated to (cross-region automated-backup replication).
    backup_replication_regions: list[str] = Field(default_factory=list)
    # The read replicas run in distinct Availability Zones, none in this instance's (collectors.rds.link_replicas).
    replicas_cross_az: Optional[bool] = None
    master_password_managed: Optional[bool] = None  # the master password kept by RDS in Secrets Manager
    # Where the master password is kept: rds-managed, secrets-manager (the IaC reads it from a secret, or a tag
    # names one) or literal (written in the IaC); None when that cannot be told.
    master_password_source: Optional[str] = None
    # An Aurora (or Multi-AZ DB cluster) member: its storage, backup and protection are its cluster's, and are
    # read from the cluster (CLUSTER_LEVEL in collectors/rds.py), as AWS applies them.
    cluster_id: Optional[str] = None


class RDSCluster(Resource):
    """An Aurora cluster (or a Multi-AZ DB cluster): the storage, backups and protection its instances share."""

    type: ClassVar[str] = "AWS::RDS::DBCluster"
    engine: Optional[str] = None
    engine_version: Optional[str] = None
    engine_major_version: Optional[str] = None
    engine_mode: Optional[str] = None
    storage_encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    backup_retention_days: Optional[int] = None
    deletion_protection: Optional[bool] = None
    iam_auth_enabled: Optional[bool] = None
    multi_az: Optional[bool] = None
    member_ids: list[str] = Field(default_factory=list)
    member_count: Optional[int] = None
    cloudwatch_logs_exports: list[str] = Field(default_factory=list)
    database_name: Optional[str] = None
    parameter_group: Optional[str] = None
