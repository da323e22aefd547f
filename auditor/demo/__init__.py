"""The embedded default: a mock account built from spec 002 with deliberate drift, audited end to end."""
from auditor.demo.run import run_demo

__all__ = ["run_demo"]
