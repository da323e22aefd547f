"""Mapping tables: how each model property is read from the AWS API, Terraform and CloudFormation (fields.py
says how a table reads; tables/ holds them, a module per service). The collectors and the IaC mappers of a
tabled type walk its table."""
from auditor.mappings.fields import Field, TypeMap, Unknown, from_api, read_iac
from auditor.mappings.tables import TABLES

TF_TABLES: dict[str, TypeMap] = {rtype: table for table in TABLES for rtype in table.tf_types}
CFN_TABLES: dict[str, TypeMap] = {rtype: table for table in TABLES for rtype in table.cfn_types}

__all__ = ["CFN_TABLES", "Field", "TABLES", "TF_TABLES", "TypeMap", "Unknown", "from_api", "read_iac"]
