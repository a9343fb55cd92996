"""Access tokens, refresh tokens and OAuth authorization codes of the org."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field

from syncledger.emulator.salesforce.errors import OAuthError


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str


@dataclass
class Sessions:
    """The admin token is also the first API session; expiring sessions spares admin routes."""
    admin_token: str
    live: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    codes: dict[str, PendingCode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.live = {self.admin_token}
        # the admin token also refreshes, so a client given only it can test its refresh path
        self.refresh_tokens = {self.admin_token}
        self.codes = {}

    def valid(self, token: str | None) -> bool:
        return token is not None and token in self.live

    def expire_all(self) -> None:
        self.live.clear()

    def new_code(self, client_id: str, redirect_uri: str, challenge: str | None,
                 method: str) -> str:
        code = "aPrx" + secrets.token_urlsafe(32)
        self.codes[code] = PendingCode(client_id, redirect_uri, challenge, method)
        return code

    def redeem(self, code: str, redirect_uri: str | None, verifier: str | None) -> None:
        pending = self.codes.pop(code, None)
        if pending is None:
            raise oauth_error("invalid_grant", "invalid authorization code")
        if redirect_uri is not None and redirect_uri != pending.redirect_uri:
            raise oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if pending.challenge is not None:
            if not verifier:
                raise oauth_error("invalid_grant", "code_verifier is required")
            if pending.method.upper() == "S256":
                digest = hashlib.sha256(verifier.encode("ascii")).digest()
                computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            else:
                computed = verifier
            if not secrets.compare_digest(computed, pending.challenge):
                raise oauth_error("invalid_grant", "invalid code verifier")

    def issue(self, with_refresh: bool) -> tuple[str, str | None]:
        access = "00D!" + secrets.token_urlsafe(48)
        self.live.add(access)
        refresh = None
        if with_refresh:
            refresh = "5Aep" + secrets.token_urlsafe(48)
            self.refresh_tokens.add(refresh)
        return access, refresh

    def refresh(self, token: str) -> str:
        if token not in self.refresh_tokens:
            raise oauth_error("invalid_grant", "expired access/refresh token")
        access, _ = self.issue(with_refresh=False)
        return access

    def revoke(self, token: str) -> None:
        self.live.discard(token)
        self.refresh_tokens.discard(token)


def oauth_error(error: str, description: str) -> OAuthError:
    return OAuthError(error, description)
