"""OAuth 2.0 web-server flow with PKCE, refresh, userinfo and the identity URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Response

from syncledger.emulator.salesforce.errors import ApiError, OAuthError
from syncledger.emulator.salesforce.http import Ctx, Route, json_response


def _base(ctx: Ctx) -> str:
    return ctx.request.host_url.rstrip("/")


def _redirect(uri: str, params: dict[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return Response(status=302, headers={"Location": location})


def authorize(ctx: Ctx) -> Response:
    """Approve at once, as if the user had logged in and allowed access."""
    args = ctx.request.args
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri or not args.get("client_id"):
        raise OAuthError("invalid_request", "client_id and redirect_uri are required")
    state = {"state": args["state"]} if "state" in args else {}
    if args.get("response_type", "code") != "code":
        return _redirect(redirect_uri, {"error": "unsupported_response_type",
                                        "error_description": "response type not supported",
                                        **state})
    method = args.get("code_challenge_method", "S256")
    if method.upper() not in ("S256", "PLAIN"):
        raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain")
    code = ctx.org.sessions.new_code(args["client_id"], redirect_uri,
                                     args.get("code_challenge"), method)
    return _redirect(redirect_uri, {"code": code, **state})


def _identity_url(ctx: Ctx) -> str:
    store = ctx.org.store
    return f"{_base(ctx)}/id/{store.org_id}/{store.current_user_id}"


def _token_body(ctx: Ctx, access: str, refresh: str | None) -> dict[str, Any]:
    issued = str(int(time.time() * 1000))
    identity = _identity_url(ctx)
    # Salesforce signs id + issued_at with the consumer secret; ours is the admin token
    digest = hmac.new(ctx.org.sessions.admin_token.encode(), (identity + issued).encode(),
                      hashlib.sha256).digest()
    body: dict[str, Any] = {"access_token": access}
    if refresh:
        body["refresh_token"] = refresh
    body.update({"signature": base64.b64encode(digest).decode(), "scope": "refresh_token api",
                 "instance_url": _base(ctx), "id": identity, "token_type": "Bearer",
                 "issued_at": issued})
    return body


def token(ctx: Ctx) -> Response:
    form = ctx.request.form
    sessions = ctx.org.sessions
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code = form.get("code")
        if not code:
            raise OAuthError("invalid_request", "code is required")
        sessions.redeem(code, form.get("redirect_uri"), form.get("code_verifier"))
        access, refresh = sessions.issue(with_refresh=True)
        return json_response(_token_body(ctx, access, refresh))
    if grant == "refresh_token":
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise OAuthError("invalid_request", "refresh_token is required")
        return json_response(_token_body(ctx, sessions.refresh(refresh_token), None))
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def revoke(ctx: Ctx) -> Response:
    value = ctx.request.values.get("token")
    if value:
        ctx.org.sessions.revoke(value)
    return Response(status=200)


def userinfo(ctx: Ctx) -> Response:
    store = ctx.org.store
    user = store.tables["User"][store.current_user_id]
    org = store.tables["Organization"][store.org_id]
    return json_response({
        "sub": _identity_url(ctx), "user_id": user["Id"], "organization_id": org["Id"],
        "preferred_username": user["Username"], "nickname": user.get("Alias"),
        "name": user["Name"], "email": user["Email"], "email_verified": True,
        "given_name": user.get("FirstName"), "family_name": user.get("LastName"),
        "zoneinfo": user.get("TimeZoneSidKey") or "UTC", "active": bool(user.get("IsActive")),
        "user_type": "STANDARD", "language": "en_US", "locale": "en_US",
        "is_app_installed": True, "updated_at": user.get("LastModifiedDate"),
        "urls": {"rest": f"{_base(ctx)}/services/data/v{{version}}/",
                 "sobjects": f"{_base(ctx)}/services/data/v{{version}}/sobjects/",
                 "query": f"{_base(ctx)}/services/data/v{{version}}/query/"},
    })


def identity(ctx: Ctx, org_id: str, user_id: str) -> Response:
    store = ctx.org.store
    user = store.lookup(user_id)
    if org_id[:15] != store.org_id[:15] or user is None:
        raise ApiError(404, "NOT_FOUND", "Bad_Id")
    return json_response({"id": _identity_url(ctx), "user_id": user["Id"],
                          "organization_id": store.org_id, "username": user["Username"],
                          "display_name": user["Name"], "email": user["Email"],
                          "active": bool(user.get("IsActive")), "user_type": "STANDARD"})


ROUTES = [
    Route("/services/oauth2/authorize", authorize, {"GET": "auth"}),
    Route("/services/oauth2/token", token, {"POST": "auth"}),
    Route("/services/oauth2/revoke", revoke, {"POST": "auth", "GET": "auth"}),
    Route("/services/oauth2/userinfo", userinfo, {"GET": "auth", "POST": "auth"}),
    Route("/id/<org_id>/<user_id>", identity, {"GET": "auth"}),
]
# these take no bearer token: the client has none yet
UNAUTHENTICATED = {"/services/oauth2/authorize", "/services/oauth2/token",
                   "/services/oauth2/revoke"}
