"""The sync's speed on this checkout against another commit's, in one run (issue 18: a
refactoring must leave bench/sync.py's figures within 5%).

Each side runs its own bench/sync.py scenarios (the initial inbound sync of N Contacts, the
outbound sync of M people) in fresh processes, taking turns (this checkout, the other, this,
the other, ...) so that a machine busier at one moment weighs on both alike; the best time of
each side counts. The other commit is checked out into a temporary directory and imported as
`syncledger` from there (a link named after the package ahead on PYTHONPATH), with this
virtualenv's libraries. Times are printed, never asserted.

Run: .venv/bin/python bench/compare.py REV [--inbound 10000] [--outbound 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def checked_out(rev: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """The commit's tree in a temporary directory, and the environment that imports it."""
    with tempfile.TemporaryDirectory(prefix="syncledger-compare-") as temporary:
        tree = Path(temporary) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet",
                        str(tree), rev], check=True)
        try:
            path = Path(temporary) / "path"
            path.mkdir()
            (path / "syncledger").symlink_to(tree)
            environ = {**os.environ, "PYTHONPATH": str(path)}
            yield tree, environ
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(tree)], check=True)


def sync_seconds(tree: Path, environ: dict[str, str], scenario: str, size: int,
                 apart: bool = False) -> float:
    """The sync's own time in one scenario of that tree's bench/sync.py; `apart`: the
    outbound emulator in a process of its own (its work then no longer shares the sync's
    GIL, as a real CRM's does not)."""
    command = [sys.executable, str(tree / "bench" / "sync.py"), "--scenario", scenario,
               "--size", str(size)] + (["--no-incremental"] if scenario == "inbound" else []) \
        + (["--emulator-apart"] if apart and scenario == "outbound" else [])
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env=environ)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["sync"]["seconds"])


def compare(rev: str, sizes: dict[str, int], rounds: int, apart: bool = False) -> None:
    here = (ROOT, dict(os.environ))
    best: dict[tuple[str, str], float] = {}
    with checked_out(rev) as other:
        for turn in range(rounds):
            for scenario, size in sizes.items():
                for side, (tree, environ) in (("this", here), (rev, other)):
                    seconds = sync_seconds(tree, environ, scenario, size, apart)
                    print(f"  round {turn + 1} {scenario} {size:,} {side}: {seconds:.2f} s",
                          flush=True)
                    key = (scenario, side)
                    best[key] = min(best.get(key, seconds), seconds)
    print(f"\nbest of {rounds} (records/s; ratio this / {rev}, above 0.95 is within 5%):")
    for scenario, size in sizes.items():
        mine, theirs = best[(scenario, "this")], best[(scenario, rev)]
        print(f"  {scenario:<9} {size:>7,}: this {size / mine:8,.0f}   {rev} "
              f"{size / theirs:8,.0f}   ratio {theirs / mine:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the commit to compare with")
    parser.add_argument("--inbound", type=int, default=10_000, help="Contacts (0: none)")
    parser.add_argument("--outbound", type=int, default=10_000, help="people (0: none)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--emulator-apart", action="store_true",
                        help="the outbound emulator in a process of its own")
    args = parser.parse_args()
    sizes = {name: size for name, size in (("inbound", args.inbound),
                                           ("outbound", args.outbound)) if size}
    compare(args.rev, sizes, args.rounds, args.emulator_apart)


if __name__ == "__main__":
    main()
