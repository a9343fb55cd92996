"""What the import-linter contracts (pyproject.toml) cannot say of domain/: of eventsourcing it
uses only eventsourcing.domain (no recorder, no application), and it reads no clock, so that
decisions stay pure and replayable."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def _eventsourcing_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] == "eventsourcing"}


def test_domain_uses_only_the_domain_module_of_eventsourcing() -> None:
    offenders = [f"{path.name}: {name}" for path in sorted(DOMAIN.glob("*.py"))
                 for name in _eventsourcing_imports(path) if name != "eventsourcing.domain"]
    assert offenders == []


def test_domain_reads_no_clock() -> None:
    for path in DOMAIN.glob("*.py"):
        text = path.read_text()
        assert "datetime.now" not in text and "time.time(" not in text, path.name
