"""The command line for connect, disconnect, fields, profile, config, switches (issue 5)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
