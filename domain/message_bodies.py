"""Message bodies kept out of the log (`store_contents = false`).

An activity's body (an email's `body`, a call's or task's `notes`, a LinkedIn `message`, a
note's `text`) is then recorded only as its digest, `{"sha256": "<hex>"}` in place of the
text, while the text itself waits outside the log until the CRM has it. A dict can never be
mistaken for a body, which the import format only accepts as a string, so the marker needs
no escaping. Pure functions: which field is the body, its digest, and the views of an
activity's details as logged, as recorded in a CRM write intent, and as sent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

BODY_FIELD = {"email": "body", "call": "notes", "task": "notes", "linkedin": "message",
              "note": "text"}
DIGEST = "sha256"


def body_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def marker(text: str) -> dict[str, str]:
    return {DIGEST: body_digest(text)}


def held_digest(value: Any) -> str | None:
    """The digest a logged value stands for, or None when the value is the text itself."""
    digest = value.get(DIGEST) if isinstance(value, dict) and set(value) == {DIGEST} else None
    return digest if isinstance(digest, str) else None


def withhold(kind: str, details: dict[str, Any], recorded: Mapping[str, Any] | None,
             hold: bool) -> tuple[dict[str, Any], str | None]:
    """The details as the log is to record them, and the body to hold (None: nothing).

    `recorded`: the activity's details as already logged under the same person key, or None;
    `hold`: whether bodies stay out of the log. The same body again is nothing new, in
    whichever form the log has it: switching `store_contents` records no change by itself."""
    name = BODY_FIELD[kind]
    text = details.get(name)
    if not isinstance(text, str) or not text:
        return details, None
    logged = recorded.get(name) if recorded is not None else None
    if logged == text or held_digest(logged) == body_digest(text):
        return {**details, name: logged}, None
    if not hold:
        return details, None
    return {**details, name: marker(text)}, text


def marked(details: Mapping[str, Any]) -> dict[str, Any]:
    """Each digest as the text `sha256:<hex>`: what a write intent records (and a reader
    sees) in place of a body the log does not hold. It changes exactly when the body does."""
    return {name: f"{DIGEST}:{digest}" if (digest := held_digest(value)) else value
            for name, value in details.items()}


def revealed(details: Mapping[str, Any], bodies: Mapping[str, str]
             ) -> tuple[dict[str, Any], list[str]]:
    """The details with each held body (`bodies`: digest -> text) back in place of its
    digest, and the names of those whose body is no longer held (left out of the details)."""
    shown: dict[str, Any] = {}
    missing = []
    for name, value in details.items():
        digest = held_digest(value)
        if digest is None:
            shown[name] = value
        elif digest in bodies:
            shown[name] = bodies[digest]
        else:
            missing.append(name)
    return shown, missing
