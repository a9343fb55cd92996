"""The command line for sync, schedule, status, logs (issue 6)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
