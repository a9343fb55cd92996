"""A throwaway certificate authority, because simple-salesforce only speaks HTTPS."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


def server_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """Generate a CA and a loopback server certificate; return the context and the CA file."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return context, ca_path
