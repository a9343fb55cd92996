"""Normalised content and its hash: what makes an unchanged record record nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def normalise_value(field: str, value: Any) -> Any:
    """Trim text and lowercase emails, so our own echo compares equal to what we wrote."""
    if isinstance(value, str):
        value = value.strip()
        if field.lower().endswith("email"):
            value = value.lower()
        return value or None
    return value


def normalise(content: Mapping[str, Any]) -> dict[str, Any]:
    return {key: normalise_value(key, content[key]) for key in sorted(content)}


def content_hash(content: Mapping[str, Any]) -> str:
    return normalised_hash(normalise(content))


# What json.dumps(sort_keys=True, separators=(",", ":"), default=str) encodes with, made
# once: dumps builds a new encoder for each call that passes arguments.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def normalised_hash(normalised: Mapping[str, Any]) -> str:
    """content_hash of what normalise() returned already."""
    return hashlib.sha256(_CANONICAL.encode(normalised).encode()).hexdigest()
