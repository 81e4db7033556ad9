"""Two commits' figures side by side: the median of each side's runs, and new / old.

    uv run python bench/compare.py --old old-1.json old-2.json ... --new new-1.json new-2.json ...

Each file is one `bench/table.py --json FILE` run. On a noisy machine one run of each proves nothing:
run old and new in turn several times (see bench/README.md), then compare medians here. The spread
(lowest-highest) of each side is printed too: when the two spreads overlap, the difference is within
the noise. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.goals import BY_NAME, FIGURES


def figures(paths: list[Path]) -> dict[str, list[float]]:
    """Every figure's values across the runs that measured it."""
    values: dict[str, list[float]] = {}
    for path in paths:
        for name, value in json.loads(path.read_text(encoding="utf-8"))["figures"].items():
            values.setdefault(name, []).append(float(value))
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, nargs="+", required=True, help="table.py --json files of the old")
    parser.add_argument("--new", type=Path, nargs="+", required=True, help="table.py --json files of the new")
    args = parser.parse_args()
    old, new = figures(args.old), figures(args.new)
    order = [f.name for f in FIGURES] + sorted((old.keys() | new.keys()) - BY_NAME.keys())
    print(f"{len(args.old)} old runs, {len(args.new)} new runs (medians; lowest-highest in brackets)")
    print(f"  {'figure':<44} {'old':>22} {'new':>22} {'new/old':>8}")
    for name in order:
        if name not in old and name not in new:
            continue
        label = BY_NAME[name].label.strip() if name in BY_NAME else name
        cells = []
        for values in (old.get(name), new.get(name)):
            if not values:
                cells.append("not run")
                continue
            cells.append(f"{statistics.median(values):,.2f} [{min(values):,.2f}-{max(values):,.2f}]")
        ratio = ""
        if old.get(name) and new.get(name) and statistics.median(old[name]):
            ratio = f"{statistics.median(new[name]) / statistics.median(old[name]):.2f}x"
        print(f"  {label[:44]:<44} {cells[0]:>22} {cells[1]:>22} {ratio:>8}")


if __name__ == "__main__":
    main()
