"""The instructions one `run_sync` executes on this checkout against another commit's, counted
by valgrind's callgrind: a measure that the machine's other work does not move.

On this 2-core machine the same sync's time varies by a third from one run to the next, so
a change that saves 3% cannot be seen in bench/sync.py's or bench/compare.py's times. The
count of instructions run does not vary by more than 0.3%: each side's sync runs in a
process of its own under callgrind, counting only from the moment run_sync starts to the
moment it returns (the emulator's org and the store are set up before, uncounted), with the
views follower off (the run catches its views up itself, so that the count does not
depend on when a second process got going).

The scenarios are bench/sync.py's (a) and (b) at a small size: the initial inbound sync of
N Contacts, the outbound sync of M imported people. Each tree's own bench/sync.py sets them
up; the other commit is checked out and imported as bench/compare.py does. Instructions
are not time (a cache miss costs more than an add), but a change that runs fewer of them in
Python code mostly takes less time too. Counts are printed, never asserted.

Run: .venv/bin/python bench/instructions.py REV [--inbound 1000] [--outbound 1000]
     (valgrind must be installed: apt-get install valgrind; about a minute a side)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from compare import ROOT, checked_out


def child(tree: Path, scenario: str, size: int) -> None:
    """Set the scenario up, say READY, run the sync when told, say DONE, end when told."""
    sys.path.insert(0, str(tree / "bench"))
    import sync as bench  # noqa: PLC0415 (that tree's own, found only now)

    try:
        from syncledger.projections import follower  # noqa: PLC0415
    except ImportError:  # a commit from before the views follower
        pass
    else:
        follower.spare_core = lambda: False
    with bench.isolated_env(), tempfile.TemporaryDirectory() as directory:
        where = Path(directory)
        if scenario == "inbound":
            data, app_file = bench.generate_salesforce(size, 0, seed=1), bench.team_file(where)
        else:
            data = bench.generate_salesforce(0, 0, seed=1)
            app_file = bench.write_app_data(where / "people.jsonl", size, activities=False)
        with bench.running("salesforce", data) as emulator:
            app = bench.connected_store(where, emulator, app_file)
            print("READY", flush=True)
            sys.stdin.readline()
            bench.run_sync(app, bench.ACTOR, bench.datetime.now(bench.UTC))
            print("DONE", flush=True)
            sys.stdin.readline()
            bench.close(app)


def counted(tree: Path, environ: dict[str, str], scenario: str, size: int) -> int:
    """The instructions of one run_sync in that tree, under callgrind."""
    with tempfile.TemporaryDirectory(prefix="syncledger-instructions-") as directory:
        out = Path(directory) / "callgrind.out"
        process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}", sys.executable, __file__, "--child", scenario,
             "--size", str(size), "--tree", str(tree)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=environ, cwd=tree)
        assert process.stdin is not None and process.stdout is not None

        def step(said: str, switch: str) -> None:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if line.strip() != said:
                process.kill()
                raise RuntimeError(f"{scenario} {size} in {tree}: expected {said}, got "
                                   f"{line!r} (exit code {process.wait()})")
            subprocess.run(["callgrind_control", "--instr=" + switch, str(process.pid)],
                           check=True, capture_output=True)
            process.stdin.write("\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]

        step("READY", "on")
        step("DONE", "off")
        if process.wait() != 0:
            raise RuntimeError(f"{scenario} {size} in {tree}: exit code {process.returncode}")
        found = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no totals in callgrind's output for {scenario} in {tree}")
        return int(found.group(1))


def compare(rev: str, sizes: dict[str, int]) -> None:
    here = (ROOT, dict(os.environ))
    with checked_out(rev) as other, ThreadPoolExecutor(2) as pool:
        for scenario, size in sizes.items():
            mine, theirs = pool.map(counted, *zip(here, other, strict=True),
                                    (scenario, scenario), (size, size))
            print(f"  {scenario:<9} {size:>6,}: this {mine:>15,}   {rev} {theirs:>15,}   "
                  f"ratio this / {rev} {mine / theirs:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", help="the commit to compare with")
    parser.add_argument("--inbound", type=int, default=1_000, help="Contacts (0: none)")
    parser.add_argument("--outbound", type=int, default=1_000, help="people (0: none)")
    parser.add_argument("--child", choices=("inbound", "outbound"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.tree), args.child, args.size)
        return
    if args.rev is None:
        parser.error("name the commit to compare with")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    sizes = {name: size for name, size in (("inbound", args.inbound),
                                           ("outbound", args.outbound)) if size}
    print("instructions of one run_sync under callgrind, this checkout against "
          f"{rev_text(args.rev)}:")
    compare(args.rev, sizes)


def rev_text(rev: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h (%cs)", rev],
                          capture_output=True, text=True, check=True).stdout.strip()


if __name__ == "__main__":
    main()
