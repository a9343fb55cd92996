"""The few kinds of CRM failure the rest of the engine sees (never an HTTP status)."""

from __future__ import annotations


class CrmError(Exception):
    """Base of the CRM failures; its message is fit to show a user."""


class CrmRetryable(CrmError):
    """5xx, timeouts, dropped connections: the same call may succeed later."""


class CrmLimitReached(CrmError):
    """The CRM's API limit (or our api_budget) is spent: stop the step, resume next run."""


class CrmFatal(CrmError):
    """Bad credentials, a schema gone, a cursor that does not move: a person must act."""


def untrusted(crm: str, url: str, ca_cert: str | None) -> str:
    """A server whose TLS certificate we do not trust: say so, and how to trust it."""
    if ca_cert:
        return (f"the certificate of {crm} at {url} is not trusted by the CA given with "
                f"--ca-cert ({ca_cert}): give the CA certificate that signed it")
    return (f"the certificate of {crm} at {url} is not trusted (no CA this machine trusts "
            "signed it): if it is yours (a proxy's, a test server's, the emulator's), pass the "
            f"CA certificate that signed it: `syncledger connect {crm.lower()} ... --ca-cert "
            "CA.pem`")
