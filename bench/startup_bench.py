"""How long a person waits before `qbo` answers at all: `qbo --help` and each command's `--help`.

    uv run python bench/startup_bench.py [--rounds 5]

Runs the `qbo` script of this environment directly (`uv run` adds its own start-up on top), a process
per call as typed in a terminal; one unmeasured call first, so a missing bytecode cache is paid once
(and reported) rather than in every figure. Prints medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, emit

COMMANDS = ("sync", "ask", "push", "transform", "serve", "sandbox", "demo")


def seconds(argv: list[str]) -> float:
    """Wall time of one process, from spawn to exit."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    qbo = str(Path(sys.executable).with_name("qbo"))
    first = seconds([qbo, "--help"])
    print(f"start-up bench: {args.rounds} rounds each (medians); the first call took {first:.2f} s")
    help_median = statistics.median(seconds([qbo, "--help"]) for _ in range(args.rounds))
    print(f"  qbo --help            {help_median:6.2f} s")
    worst = ("", 0.0)
    for command in COMMANDS:
        median = statistics.median(seconds([qbo, command, "--help"]) for _ in range(args.rounds))
        print(f"  qbo {command + ' --help':<17} {median:6.2f} s")
        worst = max(worst, (command, median), key=lambda pair: pair[1])
    print(f"  slowest: qbo {worst[0]} --help, {worst[1]:.2f} s")
    emit("start.help.seconds", help_median, "s")
    emit("start.command.seconds", worst[1], "s")


if __name__ == "__main__":
    main()
