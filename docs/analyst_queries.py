"""Run the example analyst queries of docs/analyst_queries.sql on a warehouse and print each answer.

The queries live in the .sql file only (named blocks), so the README, this runner and
tests/transform/test_analyst_queries.py read the same text.

    uv run python docs/analyst_queries.py [name ...] [--warehouse var/demo/warehouse.duckdb]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUERIES = Path(__file__).with_suffix(".sql")
DEMO_WAREHOUSE = "var/demo/warehouse.duckdb"


@dataclass(frozen=True)
class Query:
    name: str
    question: str
    sql: str


def read_queries(path: Path = QUERIES) -> list[Query]:
    """Every `-- name:` block of the file, in order, its `-- question:` and its SQL (no trailing `;`)."""
    queries = []
    for block in re.split(r"^-- name: ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        question = re.search(r"^-- question: (.+)$", body, flags=re.MULTILINE)
        sql = "\n".join(line for line in body.splitlines() if not line.startswith("--")).strip()
        queries.append(Query(name.strip(), question.group(1).strip() if question else "", sql.rstrip(";")))
    return queries


def run(warehouse: str, query: Query) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The query's column names and rows, read-only (a DuckDB file or a postgresql:// URL)."""
    from pipelines.runtime.warehouse_sql import open_warehouse  # noqa: PLC0415 (duckdb: only when run)

    with open_warehouse(warehouse) as db:
        cursor = db.execute(query.sql)
        columns = [d[0] for d in cursor.description]  # type: ignore[attr-defined]
        return columns, cursor.fetchall()


def show(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A plain text table: one header line, one line per row."""
    cells = [columns, *([("" if v is None else str(v)) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="the queries to run (default: all)")
    parser.add_argument("--warehouse", default=DEMO_WAREHOUSE, help="a DuckDB file or a postgresql:// URL")
    args = parser.parse_args(argv)
    queries = read_queries()
    unknown = sorted(set(args.names) - {q.name for q in queries})
    if unknown:
        print(
            f"no query named {', '.join(unknown)}; there are: {', '.join(q.name for q in queries)}",
            file=sys.stderr,
        )
        return 2
    if "://" not in args.warehouse and not Path(args.warehouse).exists():
        print(
            f"no warehouse at {args.warehouse}: run `make demo` first, or pass --warehouse", file=sys.stderr
        )
        return 2
    for query in queries:
        if not args.names or query.name in args.names:
            columns, rows = run(args.warehouse, query)
            print(f"-- {query.name}: {query.question}\n{show(columns, rows)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
