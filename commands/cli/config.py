"""The command line for connect, disconnect, fields, profile, config, switches (issue 5)."""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column, Table

from syncledger.commands.cli.common import (
    JSON_OPTION,
    CrmProblem,
    UserError,
    err,
    out,
    print_json,
    settings,
)

if TYPE_CHECKING:
    from syncledger.commands.connect import Connection

ENVIRONMENTS = ("production", "sandbox")
SF_TOKEN_ENV = "SYNCLEDGER_SF_TOKEN"
PIPEDRIVE_TOKEN_ENV = "SYNCLEDGER_PIPEDRIVE_TOKEN"
OAUTH_PORT_ENV = "SYNCLEDGER_OAUTH_PORT"
# The Salesforce login's default client (DEFAULT_CLIENT_ID of adapters/salesforce/oauth.py),
# spelt here for --client-id's help: importing the adapter would slow every command's start.
LOGIN_CLIENT_ID = "PlatformCLI"

connect_app = typer.Typer(no_args_is_help=True, help="Connect a CRM.")
config_app = typer.Typer(no_args_is_help=True, help="The Custom profile's configuration.")
profile_app = typer.Typer(no_args_is_help=True, help="The integration profile.")
step_app = typer.Typer(no_args_is_help=True, help="Switch one step on or off.")

CRM_OPTION = typer.Option(None, "--crm", help="salesforce or pipedrive (default: the one "
                          "connected)")


@contextmanager
def user_errors() -> Iterator[None]:
    """Mistakes a user can fix, from any layer, become one line on stderr: exit 3 when the
    CRM or its credentials are the reason (not connected, unreachable, refused), else 2."""
    from syncledger.adapters.credentials import CredentialsError, KeyEncryptionError
    from syncledger.adapters.crm_errors import CrmError
    from syncledger.commands import configure
    from syncledger.commands.config_file import ConfigFileError
    from syncledger.domain.integration import IntegrationError

    try:
        yield
    except (IntegrationError, ConfigFileError, configure.ConfigRejected,
            configure.CrmNotChosen) as error:
        raise UserError(str(error)) from None
    except KeyEncryptionError:
        raise  # the key outside the store, not the CRM's: exit 2 (cli.app.main)
    except (configure.NotConnected, CredentialsError, CrmError) as error:
        raise CrmProblem(str(error)) from None


def read_secret(token: str | None, token_file: Path | None, env: str, what: str) -> str:
    """From a file, standard input (`-`) or the environment; never from an argument's value,
    which `ps` shows to every user of the machine."""
    if token_file is not None:
        try:
            text = token_file.read_text()
        except OSError as error:
            raise UserError(f"{token_file}: {error.strerror}") from None
    elif token is not None:
        if token != "-":
            raise UserError(f"--token takes only - (read the {what} from standard input): a "
                            "token given as an argument shows in `ps`; use --token-file F, "
                            f"--token - or {env}")
        text = sys.stdin.read()
    elif os.environ.get(env):
        text = os.environ[env]
    else:
        raise UserError(f"no {what}: give --token-file F, --token - (standard input) or set "
                        f"{env}")
    secret = text.strip()
    if not secret:
        raise UserError(f"the {what} is empty")
    return secret


def _ca_cert(path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise UserError(f"--ca-cert {path}: no such file")
    return str(path.resolve())


def _print_connection(connection: Connection, as_json: bool) -> None:
    from syncledger.commands.connect import KEY_FIELD

    if as_json:
        print_json(asdict(connection))
        return
    name = f"{connection.org_name} " if connection.org_name else ""
    out.print(f"connected {connection.crm}: {name}({connection.org_id}), "
              f"{connection.environment}, {connection.instance_url}", highlight=False)
    out.print(f"as user {connection.user_id}"
              + (f" <{connection.user_email}>" if connection.user_email else ""),
              highlight=False)
    if connection.crm == "salesforce":
        if connection.missing_keys:
            out.print(f"{KEY_FIELD} missing on: {', '.join(connection.missing_keys)}")
        else:
            out.print(f"{KEY_FIELD} present on Lead, Contact, Account and Task: writes are "
                      "exactly-once")
    for warning in connection.warnings:
        err.print(f"warning: {warning}", highlight=False)


@connect_app.command("salesforce")
def connect_salesforce_command(
    login: bool = typer.Option(False, "--login", help="log in in the browser (OAuth 2.0 "
                               "web-server flow with PKCE)"),
    instance_url: str = typer.Option(None, "--instance-url", help="with a token: the org's "
                                     "URL, https://MyDomain.my.salesforce.com"),
    token: str = typer.Option(None, "--token", help="- : read the access token from "
                              "standard input"),
    token_file: Path = typer.Option(None, "--token-file", help="a file holding the access "
                                    "token"),
    refresh_token_file: Path = typer.Option(None, "--refresh-token-file",
                                            help="a file holding a refresh token"),
    client_id: str = typer.Option(None, "--client-id", help="the connected app's consumer "
                                  f"key (default with --login: {LOGIN_CLIENT_ID})"),
    environment: str = typer.Option("production", "--environment",
                                    help="production or sandbox"),
    login_url: str = typer.Option(None, "--login-url", help="with --login: the login host "
                                  "(default login.salesforce.com; test.salesforce.com for "
                                  "a sandbox)"),
    ca_cert: Path = typer.Option(None, "--ca-cert", help="trust this CA (the emulator's)"),
    port: int | None = typer.Option(None, "--port", envvar=OAUTH_PORT_ENV,
                                    hidden=True, help="the redirect listener's port"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Connect Salesforce: log in in the browser, or give an instance URL and a token."""
    from syncledger.adapters.crm_connections import (
        DEFAULT_CLIENT_ID,
        DEFAULT_PORT,
        LoginRequest,
        SalesforceCredentials,
        login_url_for,
    )
    from syncledger.commands.connect import connect_salesforce, login_salesforce
    from syncledger.commands.session import store_session

    if environment not in ENVIRONMENTS:
        raise UserError(f"--environment {environment}: expected production or sandbox")
    with user_errors(), store_session(settings.store) as store:
        if login:
            if instance_url or token or token_file or refresh_token_file:
                raise UserError("--login takes no --instance-url or token: the login "
                                "gives them")
            request = LoginRequest(
                login_url=login_url_for(environment, login_url),
                client_id=client_id or DEFAULT_CLIENT_ID,
                port=DEFAULT_PORT if port is None else port,
                ca_cert=_ca_cert(ca_cert))
            connection = login_salesforce(store, request, environment, settings.actor,
                                          open_browser)
        else:
            if not instance_url:
                raise UserError("give --login, or --instance-url with --token-file F, "
                                f"--token - or {SF_TOKEN_ENV}")
            if login_url:
                raise UserError("--login-url goes with --login")
            refresh = None
            if refresh_token_file is not None:
                if not client_id:
                    raise UserError("--refresh-token-file needs --client-id (the connected "
                                    "app the refresh token was issued to)")
                refresh = read_secret(None, refresh_token_file, "", "refresh token")
            credentials = SalesforceCredentials(
                instance_url=instance_url.rstrip("/"),
                access_token=read_secret(token, token_file, SF_TOKEN_ENV, "access token"),
                refresh_token=refresh, client_id=client_id, ca_cert=_ca_cert(ca_cert))
            connection = connect_salesforce(store, credentials, environment, settings.actor)
    _print_connection(connection, as_json)


def open_browser(url: str) -> None:
    # Printed first, so a machine without a browser (or a remote shell) can still log in.
    print("Log in to Salesforce in your browser; if it does not open, visit:", flush=True)
    print(url, flush=True)
    webbrowser.open(url)


@connect_app.command("pipedrive")
def connect_pipedrive_command(
    api_url: str = typer.Option(..., "--api-url", help="the company's base, "
                                "https://acme.pipedrive.com"),
    token: str = typer.Option(None, "--token", help="- : read the API token from standard "
                              "input"),
    token_file: Path = typer.Option(None, "--token-file", help="a file holding the API "
                                    "token"),
    ca_cert: Path = typer.Option(None, "--ca-cert", help="trust this CA (the emulator's)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Connect Pipedrive with the company URL and an API token."""
    from syncledger.adapters.crm_connections import PipedriveCredentials
    from syncledger.commands.connect_pipedrive import connect_pipedrive
    from syncledger.commands.session import store_session

    credentials = PipedriveCredentials(
        api_url=api_url.rstrip("/"),
        api_token=read_secret(token, token_file, PIPEDRIVE_TOKEN_ENV, "API token"),
        ca_cert=_ca_cert(ca_cert))
    with user_errors(), store_session(settings.store) as store:
        connection = connect_pipedrive(store, credentials, settings.actor)
    _print_connection(connection, as_json)


def disconnect_command(crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Forget the credentials and stop syncing; the log, links and cursors stay."""
    from syncledger.commands import configure
    from syncledger.commands.connect import disconnect
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        chosen = configure.chosen_crm(store, crm)
        integration = configure.existing_integration(store, chosen)
        was_connected = integration is not None and integration.connected
        disconnect(store, chosen, settings.actor)
    if as_json:
        print_json({"crm": chosen, "was_connected": was_connected})
        return
    if was_connected:
        out.print(f"disconnected {chosen}: credentials forgotten; the log, links and cursors "
                  "stay, so reconnecting the same org resumes")
    else:
        out.print(f"{chosen} was not connected")


def fields_command(
    stream: list[str] = typer.Option(None, "--object", help="a CRM object (repeatable; "
                                      "default: the people objects)"),
    crm: str = CRM_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The CRM fields and the app fields a mapping can name, with type and writability."""
    from syncledger.commands import configure
    from syncledger.commands.fields import list_fields
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        listing = list_fields(store, configure.chosen_crm(store, crm), stream or None)
    if as_json:
        print_json(listing)
        return
    for name, rows in listing["crm"].items():
        table = Table(_name_column(rows), Column("label", overflow="fold", ratio=1),
                      _name_column(rows, "type", "type"),
                      *(Column(h, no_wrap=True, min_width=len(h))
                        for h in ("length", "create", "update")),
                      Column("note", overflow="fold", ratio=2), title=f"{name} (CRM)")
        for row in rows:
            table.add_row(row["name"], row["label"], row["type"], str(row["length"] or ""),
                          _yes(row["createable"]), _yes(row["updateable"]), row["note"] or "")
        out.print(table)
    table = Table(_name_column(listing["app"]), _name_column(listing["app"], "type", "type"),
                  Column("writable", no_wrap=True, min_width=len("writable")),
                  Column("note", overflow="fold", ratio=1), title="app person")
    for row in listing["app"]:
        table.add_row(row["name"], row["type"], _yes(row["writable"]), row["note"] or "")
    out.print(table)


def _name_column(rows: list[dict[str, Any]], header: str = "field",
                 key: str = "name") -> Column:
    """A name (or a type) is what a mapping must spell: never cut (Syncledger_Key__c, not
    Syncledge…); the labels and notes fold instead."""
    widest = max((len(str(row[key])) for row in rows), default=len(header))
    return Column(header, no_wrap=True, min_width=max(widest, len(header)), overflow="fold")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@profile_app.command("use")
def profile_use(profile: str = typer.Argument(..., help="default or custom"),
                crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Choose the Default profile (fixed steps) or the Custom one."""
    from syncledger.commands import configure
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        chosen = configure.chosen_crm(store, crm)
        configure.use_profile(store, chosen, profile, settings.actor)
    if as_json:
        print_json({"crm": chosen, "profile": profile})
        return
    out.print(f"{chosen}: the {profile} profile is in force")


def _switch(enabled: bool, crm: str | None, as_json: bool) -> None:
    from syncledger.commands import configure
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        chosen = configure.chosen_crm(store, crm)
        connected = configure.switch_integration(store, chosen, enabled, settings.actor)
    if as_json:
        print_json({"crm": chosen, "enabled": enabled, "connected": connected})
        return
    out.print(f"{chosen} integration {'enabled' if enabled else 'disabled'}")
    if enabled and not connected:
        err.print(f"warning: {chosen} is not connected: nothing syncs until `syncledger "
                  f"connect {chosen}`")


def enable_command(crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Switch the integration on."""
    _switch(True, crm, as_json)


def disable_command(crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Switch the integration off (its configuration stays)."""
    _switch(False, crm, as_json)


def _switch_step(name: str, enabled: bool, crm: str | None, as_json: bool) -> None:
    from syncledger.commands import configure
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        chosen = configure.chosen_crm(store, crm)
        profile = configure.switch_step(store, chosen, name, enabled, settings.actor)
    if as_json:
        print_json({"crm": chosen, "step": name, "enabled": enabled, "profile": profile})
        return
    out.print(f"{chosen}: step {name!r} {'on' if enabled else 'off'} ({profile} profile)",
              highlight=False)


@step_app.command("enable")
def step_enable(name: str = typer.Argument(..., help="the step's name"),
                crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Switch one step on, under either profile."""
    _switch_step(name, True, crm, as_json)


@step_app.command("disable")
def step_disable(name: str = typer.Argument(..., help="the step's name"),
                 crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Switch one step off, under either profile."""
    _switch_step(name, False, crm, as_json)


@config_app.command("init")
def config_init(file: Path = typer.Argument(None, help="where to write it (default: "
                                            "standard output)"),
                crm: str = CRM_OPTION,
                force: bool = typer.Option(False, "--force", help="overwrite FILE"),
                as_json: bool = JSON_OPTION) -> None:
    """Write a starting Custom configuration: the Default profile's steps, the pre-set
    owner pair commented out."""
    from syncledger.commands import configure
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        chosen = configure.chosen_crm(store, crm)
        text = configure.starting_configuration(store, chosen, settings.actor)
    if file is None:
        if as_json:
            print_json({"crm": chosen, "file": None, "toml": text})
        else:
            sys.stdout.write(text)
        return
    if file.exists() and not force:
        raise UserError(f"{file} exists: pass --force to overwrite it")
    file.write_text(text)
    if as_json:
        print_json({"crm": chosen, "file": str(file), "toml": text})
        return
    out.print(f"wrote {file}: edit it, then `syncledger config apply {file}`")


@config_app.command("apply")
def config_apply(file: Path = typer.Argument(..., help="TOML, or the JSON of `config show "
                                             "--json`"),
                 as_json: bool = JSON_OPTION) -> None:
    """Check a configuration whole and record what differs (all or nothing)."""
    from syncledger.commands import configure
    from syncledger.commands.config_file import read_configuration
    from syncledger.commands.session import store_session

    with user_errors():
        config = read_configuration(file)
        with store_session(settings.store) as store:
            applied = configure.apply_configuration(store, config, settings.actor, str(file))
            integration = configure.existing_integration(store, config.crm)
            enabled = integration is not None and integration.enabled
    notes = [] if config.enabled_given else [
        f"{file} does not say `enabled` in [integration]: the integration stays "
        f"{'enabled' if enabled else 'disabled'}"]
    if as_json:
        print_json({"crm": applied.crm, "cause": applied.cause if applied.changes else None,
                    "changes": applied.changes, "warnings": applied.warnings,
                    "enabled": enabled, "notes": notes})
        return
    for note in notes:
        err.print(f"note: {note}", highlight=False)
    for warning in applied.warnings:
        err.print(f"warning: {warning}", highlight=False)
    if not applied.changes:
        out.print(f"{file}: no changes; nothing recorded")
        return
    out.print(f"{file}: recorded {len(applied.changes)} change(s) as {applied.cause}:")
    for change in applied.changes:
        out.print(f"  {change}", highlight=False)


@config_app.command("show")
def config_show(crm: str = CRM_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The configuration in force (--json: accepted back by `config apply`)."""
    from syncledger.commands import configure
    from syncledger.commands.config_file import configuration_document, configuration_toml
    from syncledger.commands.session import store_session

    with user_errors(), store_session(settings.store) as store:
        config = configure.current_configuration(store, configure.chosen_crm(store, crm))
    if as_json:
        print_json(configuration_document(config))
        return
    sys.stdout.write(configuration_toml(config, header=f"the {config.profile} profile "
                                        f"of {config.crm}, as recorded"))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(connect_app, name="connect")
    app.add_typer(config_app, name="config")
    app.add_typer(profile_app, name="profile")
    app.add_typer(step_app, name="step")
    app.command("disconnect")(disconnect_command)
    app.command("fields")(fields_command)
    app.command("enable")(enable_command)
    app.command("disable")(disable_command)
