"""auditor: compliance and drift auditing for AWS storage against architecture specs."""

__version__ = "0.2.0"
