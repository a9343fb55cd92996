"""The dependency rule: domain/ imports only the standard library, eventsourcing.domain and
itself, so decisions stay pure and replayable."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_nothing_outside_the_standard_library_and_eventsourcing_domain() -> None:
    offenders = []
    for path in sorted(DOMAIN.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if name == "eventsourcing.domain" or name.startswith("syncledger.domain"):
                continue
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_domain_reads_no_clock() -> None:
    for path in DOMAIN.glob("*.py"):
        text = path.read_text()
        assert "datetime.now" not in text and "time.time(" not in text, path.name
