"""pipelines/mapping/values.py computes, in Python, what dbt's QBO side computes in SQL: the push relies on
it to tell which fields QBO changed. On every record of the demo company, every field, they agree."""

from __future__ import annotations

import json
from datetime import date

from pipelines.mapping import LINES_FIELD, rendered
from pipelines.mapping.values import comparable
from pipelines.platform_demo import qbo_company
from sandbox.clock import DEFAULT_TZ
from sandbox.launch import FIRST_REALM
from tests.transform.conftest import DemoRun


def test_python_and_dbt_normalise_every_qbo_value_alike(demo_run: DemoRun) -> None:
    realm = str(FIRST_REALM)
    store = qbo_company("demo", 1, realm, DEFAULT_TZ)  # the demo's company: same seed, same day
    lookups = {
        table: {
            d["Id"]: d["Name"]
            for d in (
                json.loads(doc)
                for (doc,) in store.execute(
                    "SELECT doc FROM entities WHERE realm_id = ? AND entity = ?", (realm, entity)
                )
            )
        }
        for table, entity in (("term", "Term"), ("payment_method", "PaymentMethod"))
    }
    as_of = date.fromisoformat(demo_run.planted["as_of"])
    compared = 0
    for entity, spec in rendered().items():
        fields = [f["name"] for f in spec["fields"]] + ([LINES_FIELD] if spec["lines"] else [])
        columns = ", ".join(f"cast(n__{name} as varchar)" for name in fields)
        in_sql = {
            row[0]: dict(zip(fields, row[1:], strict=True))
            for row in demo_run.rows(
                f"SELECT qbo_id, {columns} FROM intermediate.int_sync__{spec['table']}_qbo"
            )
        }
        docs = store.execute(
            "SELECT doc FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0", (realm, entity)
        )
        for (doc,) in docs:
            record = json.loads(doc)
            in_python = comparable(spec, record, fields, lambda t, i: lookups[t].get(i), as_of)
            assert in_python == in_sql[record["Id"]], (entity, record["Id"])
            compared += 1
    assert compared > 1000
