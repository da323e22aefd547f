"""One run start to finish: a scan of a target, the IaC gate, the audit that stores and reports it, per-target locks."""
