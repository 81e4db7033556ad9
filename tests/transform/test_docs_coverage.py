"""Every column of every mart is described (`dbt docs generate` shows it), and no description names a
column the mart no longer has: the YAML beside each model, against the columns the demo build made."""

from __future__ import annotations

import re

import yaml

from pipelines.transform.dbt_build import DBT_PROJECT
from tests.demo_runs import DemoRun

MARTS = DBT_PROJECT / "models" / "marts"
MART_SCHEMAS = ("sync", "finance", "review")
DOC_CALL = re.compile(r"""\{\{\s*doc\(\s*['"](\w+)['"]\s*\)\s*\}\}""")


def doc_blocks() -> dict[str, str]:
    """Every `{% docs name %}` block of the project's models, by name."""
    blocks: dict[str, str] = {}
    for path in (DBT_PROJECT / "models").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        for name, body in re.findall(r"\{%-?\s*docs\s+(\w+)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}", text, re.S):
            blocks[name] = body.strip()
    return blocks


def described_columns() -> dict[str, dict[str, str]]:
    """model -> column -> its description, doc blocks resolved (an unknown block is an assertion)."""
    blocks = doc_blocks()
    models: dict[str, dict[str, str]] = {}
    for path in MARTS.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            columns = models.setdefault(model["name"], {})
            for column in model.get("columns") or []:
                text = str(column.get("description") or "")
                for name in DOC_CALL.findall(text):
                    assert name in blocks, (
                        f"{path.name}: {model['name']}.{column['name']} uses no such doc {name}"
                    )
                columns[column["name"]] = DOC_CALL.sub(lambda m: blocks[m.group(1)], text).strip()
    return models


def test_every_mart_column_is_described(demo_run: DemoRun) -> None:
    marts = {path.stem for path in MARTS.rglob("*.sql")}
    built: dict[str, list[str]] = {}
    marks = ", ".join("?" for _ in MART_SCHEMAS)
    for table, column in demo_run.rows(
        f"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema IN ({marks}) "
        "ORDER BY table_name, ordinal_position",
        *MART_SCHEMAS,
    ):
        built.setdefault(table, []).append(column)
    assert set(built) == marts
    described = described_columns()
    undescribed = [
        f"{m}.{c}" for m, columns in built.items() for c in columns if not described.get(m, {}).get(c)
    ]
    assert undescribed == [], "describe these in the YAML beside the model (a doc block for shared ones)"
    stale = [f"{m}.{c}" for m, columns in described.items() for c in columns if c not in built.get(m, [])]
    assert stale == [], "these described columns are not in the mart"


def test_doc_blocks_are_all_used() -> None:
    used = set()
    for path in (DBT_PROJECT / "models").rglob("*.yml"):
        used |= set(DOC_CALL.findall(path.read_text(encoding="utf-8")))
    assert sorted(set(doc_blocks()) - used) == []
