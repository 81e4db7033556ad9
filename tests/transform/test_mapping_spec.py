"""The mapping spec and the mastering policy: validated, rendered for dbt, and judged alike in SQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.mapping.payloads import platform_field
from pipelines.mapping.policy import MasteringPolicy, Override
from pipelines.mapping.rendering import render_dbt_macro, rendered
from pipelines.mapping.spec import SPEC_PATH, MappingSpec, load_spec
from pipelines.runtime.policy_config import mastering_policy
from pipelines.runtime.settings import ConfigError
from pipelines.transform.dbt_build import SPEC_MACRO, run_dbt
from sources.quickbooks.errors import QboError
from tests.demo_runs import DemoRun


def spec_with(change: Any) -> dict[str, Any]:
    raw = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    change(raw["entities"])
    return raw


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda e: e["Customer"]["fields"]["email"].update(platform="mail"), "'mail' is not a field"),
        (lambda e: e["Invoice"]["fields"]["customer"].update(link="Client"), "does not map"),
        (lambda e: e["Invoice"]["fields"]["balance"].update(master="platform"), "computed by QBO"),
        (lambda e: e["Item"]["match"][0].update(weight=0.9), "add up to"),
        (lambda e: e["Item"]["match"].append({"field": "colour", "weight": 0.1}), "'colour' is not a field"),
        (lambda e: e["Customer"]["fields"]["email"].pop("qbo"), "exactly one of"),
        (lambda e: e.update(Estimate=e["Item"]), "no platform DTO"),
    ],
)
def test_a_broken_spec_is_refused_with_the_place_and_the_reason(change: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        MappingSpec.model_validate(spec_with(change))


def test_rendering_names_the_columns_dlt_makes() -> None:
    customer = {f["name"]: f for f in rendered()["Customer"]["fields"]}
    assert customer["billing_city"]["platform_column"] == "billing_address__city"
    assert customer["billing_city"]["qbo_columns"] == ["bill_addr__city"]
    assert customer["contact_name"]["qbo_columns"] == ["given_name", "family_name"]
    assert customer["shipping_city"]["platform_column"] == "shipping_address__city"
    assert customer["shipping_city"]["qbo_columns"] == ["ship_addr__city"]
    payment = {f["name"]: f for f in rendered()["Payment"]["fields"]}
    assert payment["payment_method"]["lookup_table"] == "payment_method"
    payment_lines = rendered()["Payment"]["lines"]
    assert payment_lines["platform_table"] == "payment__applied_invoices"
    assert payment_lines["key"]["qbo_column"] == "linked_txn__txn_id"


def test_rendering_carries_the_outbound_sql_every_push_evaluates() -> None:
    """The outbound models and mapping/outbound.py read one set of expressions: the spec's rendering."""
    customer = {f["name"]: f for f in rendered()["Customer"]["fields"]}
    assert [c for c, _ in customer["contact_name"]["outbound_columns"]] == ["given_name", "family_name"]
    terms = customer["payment_terms"]["outbound_columns"]
    assert terms == [["sales_term_ref__value", "base.payment_terms"]]  # a QBO Term Id: sent as it is
    assert customer["default_taxable"]["outbound_columns"] == [["taxable", "base.default_taxable"]]
    payment = {f["name"]: f for f in rendered()["Payment"]["fields"]}
    method = payment["payment_method"]["outbound_columns"]
    assert method == [["payment_method_ref__value", "lookup__payment_method.qbo_id"]]
    assert not customer["active"]["pushable"] and customer["active"]["outbound_columns"] == []
    invoice = rendered()["Invoice"]
    by_name = {f["name"]: f for f in invoice["fields"]}
    assert by_name["customer"]["outbound_columns"] == [
        ["customer_ref__value", "link__customer.qbo_id"],
        ["customer__platform_id", "base.customer"],
    ]
    assert not by_name["balance"]["pushable"] and by_name["discount_amount"]["pushable"]
    assert invoice["lines"]["key"]["outbound_columns"] == [["line_num", "base.line_key"]]
    assert "lines_signature" in invoice["payload_hash"]
    assert "lines_signature" not in rendered()["Item"]["payload_hash"]
    item = {f["name"]: f for f in rendered()["Item"]["fields"]}
    assert "default__income_account.value" in item["income_account"]["outbound_columns"][0][1]
    assert item["type"]["outbound_columns"] == [
        [
            "type",
            "case base.type when 'service' then 'Service' when 'inventory' then 'Inventory' "
            "when 'non_inventory' then 'NonInventory' end",
        ]
    ]
    bill_lines = rendered()["Bill"]["lines"]
    assert bill_lines["qbo_where"] == {
        "detail_type": ["AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail"]
    }


def test_the_committed_spec_macro_is_current() -> None:
    """dbt reads the spec through a rendered macro; `qbo transform` rewrites it, and it is committed:
    compact data (one line of JSON), so dbt runs standalone from the repository."""
    committed = SPEC_MACRO.read_text(encoding="utf-8")
    assert committed == render_dbt_macro(load_spec())
    assert len(committed.splitlines()) < 10


def test_the_most_specific_override_wins() -> None:
    policy = MasteringPolicy(
        [
            Override(tenant="acme", entity="Vendor", field="email", master="qbo"),
            Override(entity="Vendor", master="platform"),
            Override(tenant="acme", entity="Customer", master="qbo"),
        ]
    )
    assert policy.master("acme", "Vendor", "email") == "qbo"
    assert policy.master("acme", "Vendor", "phone") == "platform"
    assert policy.master("other", "Vendor", "email") == "platform"
    assert policy.master("acme", "Customer", "email") == "qbo"
    assert policy.master("other", "Customer", "email") == "platform"
    assert policy.master("other", "Customer", "default_taxable") == "qbo"  # the spec's default
    assert policy.master("acme", "Invoice", "balance") == "qbo"  # computed by QBO


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"entity": "Estimate", "master": "platform"}, "not mapped"),
        ({"entity": "Customer", "field": "colour", "master": "platform"}, "no field 'colour'"),
        ({"entity": "Invoice", "field": "balance", "master": "platform"}, "computed by QBO"),
        ({"entity": "Customer", "master": "finance"}, r"transform\.mastering\.overrides\[0\]: master"),
    ],
)
def test_a_bad_override_is_a_configuration_error_naming_the_key(override: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        mastering_policy([override])


def test_dbt_applies_the_same_precedence_as_python(demo_run: DemoRun, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_run.warehouse, warehouse)
    policy = MasteringPolicy(
        [
            Override(entity="Vendor", master="platform"),
            Override(tenant="demo-tenant", entity="Vendor", field="email", master="qbo"),
            Override(tenant="demo-tenant", entity="Customer", master="qbo"),
            Override(entity="Customer", field="payment_terms", master="platform"),
        ]
    )
    result = run_dbt(
        warehouse, policy=policy, command="run", select=["sync_mastering_policy"], target_path=tmp_path / "t"
    )
    assert result.success, result.summary()
    demo_rows = DemoRun(tmp_path, "", {})
    rows = demo_rows.rows("SELECT tenant_id, entity, field, master FROM sync.sync_mastering_policy")
    assert len(rows) > 50
    for tenant, entity, field, master in rows:
        if field != "*":
            assert master == policy.master(tenant, entity, field), (tenant, entity, field)
    assert ("demo-tenant", "Vendor", "email", "qbo") in rows  # the tenant's field beats everyone's entity
    assert ("demo-tenant", "Customer", "payment_terms", "qbo") in rows  # the tenant beats everyone's field


@pytest.mark.parametrize(
    ("entity", "qbo", "platform"),
    [
        ("Invoice", "Line.Amount", "lines[].amount"),  # a fault's element
        ("Invoice", "Line.SalesItemLineDetail.ItemRef", "lines[].itemId"),
        ("Invoice", "ItemRef", "lines[].itemId"),  # QBO's element without its parents
        ("Invoice", "CustomerRef", "customerId"),
        ("Invoice", "DocNumber", "number"),
        ("Customer", "SalesTermRef", "paymentTermsId"),
        ("Customer", "BillAddr", "billingAddress"),
        ("Customer", "ship_addr__city", "shippingAddress.city"),  # an outbound column
        ("Bill", "Line.ItemBasedExpenseLineDetail.ItemRef", "lines[].itemId"),
        ("Payment", "Line.LinkedTxn", "appliedInvoices"),
        ("Item", "UnitPrice", "salesPrice"),
        ("Item", "Colour", "Colour"),  # unknown: as QBO named it
    ],
)
def test_qbo_names_are_said_in_the_platforms_terms(entity: str, qbo: str, platform: str) -> None:
    assert platform_field(entity, qbo) == platform


def test_a_qbo_fault_names_the_platform_field_and_keeps_qbos_element() -> None:
    fault = QboError("6000", "A business validation error has occurred", "Amount is not valid", "Line.Amount")
    (detail,) = fault.to_dto(lambda element: platform_field("Invoice", element))["details"]
    assert detail["field"] == "lines[].amount"
    assert (detail["qboElement"], detail["code"]) == ("Line.Amount", "6000")


def test_the_spec_names_columns_exactly_as_dlt_does() -> None:
    """spec.py writes dlt's snake_case out (importing dlt is a second `qbo ask` should not pay): for every
    name the spec, the catalog and the DTOs hold, and a few hard ones, it must agree with dlt."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    from pipelines.mapping.spec import NAMING
    from sources.platform.dto import MODELS
    from sources.quickbooks.catalog import ENTITIES

    dlt_naming = NamingConvention()
    spec_text = (Path(__file__).resolve().parents[2] / "pipelines" / "mapping" / "spec.yml").read_text()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_\[\]]*", spec_text))
    words |= set(ENTITIES) | {name for model in MODELS.values() for name in model.model_fields}
    words |= {"HTTPServer", "9lives", "x_", "a__b", "+x-y@z|w", " Spaced Name ", "Élan", "lines[].itemId"}
    assert len(words) > 300
    for word in sorted(words):
        assert NAMING.normalize_identifier(word) == dlt_naming.normalize_identifier(word), word
    assert NAMING.make_path("invoice", "", "lines") == dlt_naming.make_path("invoice", "", "lines")
