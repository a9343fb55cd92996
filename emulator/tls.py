"""A throwaway certificate authority, because simple-salesforce only speaks HTTPS."""

from __future__ import annotations

from pathlib import Path

import trustme


def issue_loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """Generate a CA and a loopback server certificate; return (key and chain PEM, CA PEM)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    directory.mkdir(parents=True, exist_ok=True)
    server_pem = directory / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    server_pem.chmod(0o600)
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return server_pem, ca_path
