"""config.yaml: what to audit and how. Every field is documented in the shipped config.yaml.

Relative paths are taken from the directory of the config file. With no config file at all, the defaults
apply, so ``auditor scan --pack P --env E --endpoint-url URL`` works anywhere.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from auditor.environments import CANONICAL_ENVIRONMENTS, canonical_env
from auditor.errors import BadInput
from auditor.yamlfile import YamlDocument, explain_validation, load_yaml

FORMATS = ("json", "csv", "excel", "html", "sarif", "junit", "ocsf", "asff")
FAIL_ON = ("critical", "high", "medium", "low", "info", "none")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def cron_trigger(expression: str, timezone: str):
    """APScheduler trigger for a crontab line (5 fields) or, for tests and fine schedules, 6 fields with the
    seconds first. Raises ValueError with the reason."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(expression, timezone=timezone)
    if len(fields) == 6:
        second, minute, hour, day, month, day_of_week = fields
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                           timezone=timezone)
    raise ValueError(f"cron {expression!r} must have 5 fields (minute hour day month weekday) or 6 (seconds first)")


def known_regions(value: list[str]) -> list[str]:
    """Regions botocore knows (its partition data); ValueError names the unknown one and the valid ones."""
    from auditor.aws import unknown_region

    problem = unknown_region(value)
    if problem:
        raise ValueError(problem)
    return value


class TargetSchedule(Strict):
    timezone: str = "UTC"
    cron: str

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("cron")
    @classmethod
    def valid_cron(cls, value: str, info: ValidationInfo) -> str:
        try:
            cron_trigger(value, info.data.get("timezone", "UTC"))
        except ValueError as exc:
            raise ValueError(f"invalid schedule: {exc}") from None
        return value


class SchedulerSettings(Strict):
    jobstore: Optional[Path] = None  # default: scheduler.sqlite beside the history
    misfire_grace_seconds: int = Field(default=6 * 3600, ge=1)
    max_parallel_audits: int = Field(default=2, ge=1, le=32)
    stop_timeout_seconds: float = Field(default=300, ge=0)  # how long SIGTERM waits for running audits
    webhook_url: Optional[str] = None
    webhook_format: Literal["json", "slack", "teams"] = "json"
    webhook_secret_env: Optional[str] = "AUDITOR_WEBHOOK_SECRET"  # the HMAC-SHA256 key's environment variable
    webhook_timeout_seconds: float = Field(default=10, gt=0)


class ServerSettings(Strict):
    """``auditor serve``: where people reach it (links in webhooks point there) and how long a login lasts."""

    base_url: Optional[str] = None  # e.g. https://auditor.example.com; null: webhooks link no page
    session_hours: float = Field(default=8, gt=0, le=24 * 30)
    cookie_secure: bool = False  # Secure cookie even over plain HTTP (behind a TLS proxy that says nothing)

    @field_validator("base_url")
    @classmethod
    def http_url(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else value


class EvidenceSettings(Strict):
    """The Ed25519 key evidence bundles are signed with; made (mode 0600, public half beside it) when missing.
    null: ``<db>.signing-key.pem`` beside the history."""

    signing_key: Optional[Path] = None


class Timeouts(Strict):
    """How long one AWS call and one target's audit may take: a hung call is an ``error`` for what it would have
    read, and past the deadline what is left unread is ``error`` too; the run never hangs."""

    connect_seconds: float = Field(default=5, gt=0, le=300)
    read_seconds: float = Field(default=30, gt=0, le=900)
    attempts: int = Field(default=8, ge=1, le=20)  # botocore adaptive retries, the first attempt included
    target_deadline_seconds: Optional[float] = Field(default=3600, gt=0)  # null: no deadline


class Target(Strict):
    """One account (and its regions) audited against packs for one environment."""

    name: str = "default"
    environment: str = "production"
    packs: list[str] = Field(default_factory=lambda: ["baseline"])
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"])
    profile: Optional[str] = None
    role_arn: Optional[str] = None
    external_id: Optional[str] = None
    endpoint_url: Optional[str] = None
    schedule: Optional[TargetSchedule] = None
    label: Optional[str] = None  # shown beside the name: an organization account's name
    ou: Optional[str] = None  # an organization account's OU path, by name, for the roll-up by OU
    # An organization account is reached through the management role first (role_arn above is the member's).
    via_role_arn: Optional[str] = None
    via_external_id: Optional[str] = None

    @field_validator("environment")
    @classmethod
    def known_environment(cls, value: str) -> str:
        canonical = canonical_env(value)
        if canonical is None:
            raise ValueError(f"unknown environment {value!r}; use one of {', '.join(CANONICAL_ENVIRONMENTS)}")
        return canonical

    @field_validator("regions", "packs")
    @classmethod
    def not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one")
        return value

    @field_validator("regions")
    @classmethod
    def known_regions(cls, value: list[str]) -> list[str]:
        return known_regions(value)


class OrganizationEnvironment(Strict):
    """How a member account's environment is known: an account tag, the OU it sits in, or one fixed value."""

    tag: Optional[str] = None
    ous: dict[str, str] = Field(default_factory=dict)  # OU id -> environment; the nearest OU above an account
    value: Optional[str] = None

    @field_validator("value")
    @classmethod
    def known_value(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else require_known(value)

    @field_validator("ous")
    @classmethod
    def known_ous(cls, value: dict[str, str]) -> dict[str, str]:
        return {ou: require_known(env) for ou, env in value.items()}

    @model_validator(mode="after")
    def exactly_one(self) -> "OrganizationEnvironment":
        chosen = [name for name in ("tag", "ous", "value") if getattr(self, name)]
        if len(chosen) != 1:
            raise ValueError("give exactly one of tag, ous or value")
        return self


class OrganizationSettings(Strict):
    """An AWS Organization whose ACTIVE member accounts become targets ``NAME/ACCOUNT_ID`` at audit time."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    profile: Optional[str] = None  # the management or delegated-admin identity
    role_arn: Optional[str] = None  # or a role to assume for it ...
    management_external_id: Optional[str] = None  # ... with this external id
    role_name: str = "OrganizationAccountAccessRole"  # assumed in each member account
    external_id: Optional[str] = None  # for role_name
    include_ous: list[str] = Field(default_factory=list)  # recursive; empty: the whole organization
    exclude_accounts: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"])
    packs: list[str] = Field(default_factory=lambda: ["baseline"])
    environment: OrganizationEnvironment = Field(default_factory=lambda: OrganizationEnvironment(value="production"))
    endpoint_url: Optional[str] = None
    schedule: Optional[TargetSchedule] = None

    @field_validator("regions")
    @classmethod
    def known_regions(cls, value: list[str]) -> list[str]:
        return known_regions(value)

    @field_validator("exclude_accounts")
    @classmethod
    def account_ids(cls, value: list[str]) -> list[str]:
        for account in value:
            if not (len(str(account)) == 12 and str(account).isdigit()):
                raise ValueError(f"{account!r} is not a 12-digit AWS account id")
        return [str(a) for a in value]


class ExecutorSettings(Strict):
    """Where scans run: threads in this process (local), or Celery workers (`auditor worker`) over a broker."""

    type: Literal["local", "celery"] = "local"
    broker_url: Optional[str] = None  # redis://[:PASSWORD@]HOST:PORT/DB; better: in the environment variable below
    broker_url_env: Optional[str] = "AUDITOR_BROKER_URL"
    result_backend: Optional[str] = None  # default: the broker
    task_time_limit_seconds: int = Field(default=3900, ge=10)
    result_timeout_seconds: float = Field(default=7200, gt=0)  # queueing included: then the run is failed
    visibility_timeout_seconds: int = Field(default=4200, ge=1)  # an unacknowledged task is redelivered after it
    max_in_flight: int = Field(default=256, ge=1, le=4096)  # targets waiting on workers at once
    # How long the broker may be away (a restart, a failover) before the targets waiting on it fail: publishing
    # and polling for results retry, with a growing pause, within this bound.
    broker_outage_seconds: float = Field(default=60, ge=0, le=3600)

    @model_validator(mode="after")
    def redelivered_only_after_the_limit(self) -> "ExecutorSettings":
        """redis redelivers a task not acknowledged within the visibility timeout: shorter than the time a task
        may run, and a slow audit runs twice at once on two workers."""
        if self.visibility_timeout_seconds <= self.task_time_limit_seconds:
            raise ValueError(f"visibility_timeout_seconds ({self.visibility_timeout_seconds}) must exceed "
                             f"task_time_limit_seconds ({self.task_time_limit_seconds}), or a running audit is "
                             "handed to a second worker")
        return self

    def broker(self) -> Optional[str]:
        import os

        from_env = os.environ.get(self.broker_url_env) if self.broker_url_env else None
        return from_env or self.broker_url


class Config(Strict):
    rules_dir: Optional[Path] = None  # more packs, or overrides of shipped ones; the shipped packs always load
    specs_dir: Optional[Path] = None  # the architecture specs the packs cite (spec coverage; default ./specs)
    db: Path = Path("auditor.db")
    out: Path = Path("reports")
    formats: list[Literal[FORMATS]] = Field(default_factory=lambda: ["json"])  # type: ignore[valid-type]
    fail_on: Literal[FAIL_ON] = "high"  # type: ignore[valid-type]
    max_workers: int = Field(default=16, ge=1, le=256)
    keep_runs: int = Field(default=400, ge=0)  # per target; 0 keeps every run
    waivers: Optional[Path] = None
    # Where SARIF's helpUri sends a person for one of the packs' rules: a URL with {pack} and {rule_id} (your
    # wiki, the pack's README section); unset, SARIF names none (checkov's rules keep their guideline).
    sarif_help_uri: Optional[str] = None
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=lambda: [Target()])
    organizations: list[OrganizationSettings] = Field(default_factory=list)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    path: Optional[Path] = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def no_invented_target(cls, data: Any) -> Any:
        """The ``default`` target (the ambient credentials' account) stands in only for a config that names no
        accounts at all: one that lists organizations and no targets audits those organizations, and nothing
        else, so --all-targets never audits whatever account the shell happens to be signed in to."""
        if isinstance(data, dict) and data.get("organizations") and "targets" not in data:
            return {**data, "targets": []}
        return data

    def target(self, name: Optional[str]) -> Target:
        """The named target; with no name, the first one, whose settings an ad-hoc scan starts from (its runs
        are recorded under an identity of their own: see scan.adhoc_target)."""
        if name is None:
            if not self.targets:
                raise BadInput(f"{self.path or 'config'}: lists no targets: name one with --target, or use --all-targets "
                               "for its organizations")
            return self.targets[0]
        for target in self.targets:
            if target.name == name:
                return target
        known = ", ".join(t.name for t in self.targets)
        raise BadInput(f"unknown target {name!r} in {self.path or 'config'} (targets: {known})")

    def aws_settings(self, target: Target, **overrides: Any):
        """How to reach ``target``'s account, with the config's timeouts; flags override by keyword."""
        from auditor.aws import AwsSettings

        values = dict(regions=target.regions, profile=target.profile, role_arn=target.role_arn,
                      external_id=target.external_id, endpoint_url=target.endpoint_url, max_workers=self.max_workers,
                      via_role_arn=target.via_role_arn, via_external_id=target.via_external_id,
                      max_attempts=self.timeouts.attempts, connect_timeout=self.timeouts.connect_seconds,
                      read_timeout=self.timeouts.read_seconds, deadline_seconds=self.timeouts.target_deadline_seconds)
        values.update({k: v for k, v in overrides.items() if v})
        return AwsSettings(**values)

    def resolve(self, base: Path) -> "Config":
        for attr in ("rules_dir", "specs_dir", "db", "out", "waivers"):
            value = getattr(self, attr)
            if value is not None and not value.is_absolute():
                setattr(self, attr, base / value)
        if self.evidence.signing_key is None:
            self.evidence.signing_key = self.db.with_name(self.db.name + ".signing-key.pem")
        elif not self.evidence.signing_key.is_absolute():
            self.evidence.signing_key = base / self.evidence.signing_key
        if self.scheduler.jobstore is None:
            self.scheduler.jobstore = self.db.with_name("scheduler.sqlite")
        elif not self.scheduler.jobstore.is_absolute():
            self.scheduler.jobstore = base / self.scheduler.jobstore
        if self.specs_dir is not None and not self.specs_dir.is_dir():
            raise BadInput(f"{self.path or 'config'}: specs_dir {self.specs_dir} is not a folder")
        if self.rules_dir is not None and not self.rules_dir.is_dir():
            raise BadInput(f"{self.path or 'config'}: rules_dir {self.rules_dir} is not a folder "
                           "(remove rules_dir to use only the packs shipped with auditor)")
        return self


def require_known(value: str) -> str:
    canonical = canonical_env(value)
    if canonical is None:
        raise ValueError(f"unknown environment {value!r}; use one of {', '.join(CANONICAL_ENVIRONMENTS)}")
    return canonical


def require_environment(value: str) -> str:
    canonical = canonical_env(value)
    if canonical is None:
        raise BadInput(f"unknown environment {value!r}; use one of {', '.join(CANONICAL_ENVIRONMENTS)} (or prod, stg, dev)")
    return canonical


def load_config(path: Optional[Path]) -> Config:
    """Load ``path``; with no path, ./config.yaml if it exists, else the defaults."""
    if path is None:
        default = Path("config.yaml")
        if not default.exists():
            return Config().resolve(Path.cwd())
        path = default
    doc: YamlDocument = load_yaml(Path(path))
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise BadInput(f"{doc.where(())}: config must be a mapping of settings")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise explain_validation(doc, exc) from None
    config.path = Path(path)
    return config.resolve(Path(path).resolve().parent)
