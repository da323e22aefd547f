"""Environment names: one canonical spelling each, with the aliases people write."""
from __future__ import annotations

from typing import Optional

CANONICAL_ENVIRONMENTS = ("production", "staging", "development")

ALIASES = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "development": "development",
    "dev": "development",
}


def canonical_env(name: str) -> Optional[str]:
    """The canonical name of an environment, or None when the name is not one we know."""
    return ALIASES.get(name.strip().lower())
