"""The name lists a new company starts with: terms, payment methods, sales tax, and the tracking lists
(classes, locations, customer types), all made at setup."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.generator.context import Context
from sandbox.generator.records import Term
from sandbox.generator.sales_tax import SALES_TAX_CODE, TAX_AGENCY, TAX_RATES
from sandbox.generator.timeline import HOUR
from sandbox.generator.values import Doc, Ref, ref_to, weighted_table
from sandbox.transactions import money

# fmt: off
TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))  # Id 3 is Net 30, as in QBO
TERM_WEIGHTS = (2, 2, 10, 1)
VENDOR_TERM_WEIGHTS = (1, 3, 10, 2)
PAYMENT_METHODS = (("Cash", "NON_CREDIT_CARD"), ("Check", "NON_CREDIT_CARD"), ("Visa", "CREDIT_CARD"),
                   ("MasterCard", "CREDIT_CARD"), ("American Express", "CREDIT_CARD"))
PAYMENT_METHOD_WEIGHTS = (1, 5, 2, 2, 1)
CUSTOMER_TYPES = ("Residential", "Commercial", "Government", "Non-profit", "Wholesale", "Hospitality")
CLASSES = ("Landscaping", "Maintenance", "Design", "Irrigation", "Hardscape", "Lighting", "Snow",
           "Consulting")
DEPARTMENTS = ("Downtown", "Uptown", "Online Store", "Harbor", "Valley", "Airport")
# fmt: on


def simple_list(ctx: Context, entity: str, rows: Sequence[Doc], *, ct: int | None = None) -> list[Ref]:
    """A name list made at company setup (same second: QBO creates them together); their refs."""
    at = ctx.setup_ts if ct is None else ct
    docs, refs = [], []
    first = ctx.take_ids(entity, len(rows))
    for offset, fields in enumerate(rows):
        id_ = first + offset
        name = fields.get("FullyQualifiedName") or fields.get("Name") or fields["DisplayName"]
        if not ctx.claim(entity, name):
            raise ValueError(f"duplicate {entity} name {name!r}")
        docs.append(({**fields, **ctx.head(id_, at, at)}, at, at))
        refs.append(ref_to(id_, name))
    ctx.write(entity, docs)
    return refs


def settings_lists(ctx: Context) -> None:
    terms = [{"Name": n, "Active": True, "Type": "STANDARD", "DueDays": d} for n, d in TERMS]
    ctx.terms = [Term(ref, d) for ref, (_n, d) in zip(simple_list(ctx, "Term", terms), TERMS, strict=True)]
    methods = [{"Name": n, "Active": True, "Type": t} for n, t in PAYMENT_METHODS]
    ctx.methods = simple_list(ctx, "PaymentMethod", methods)
    ctx.method_table = weighted_table(ctx.methods, PAYMENT_METHOD_WEIGHTS)
    agency = {"DisplayName": TAX_AGENCY, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": False}
    (agency_ref,) = simple_list(ctx, "TaxAgency", [agency])
    effective = ctx.clock.format(ctx.clock.at(0, 0))
    rates = [
        {
            "Name": n,
            "Description": "Sales Tax",
            "Active": True,
            "RateValue": money(v),
            "AgencyRef": ref_to(agency_ref["value"]),
            "SpecialTaxType": "NONE",
            "DisplayType": "ReadOnly",
            "EffectiveTaxRate": [{"RateValue": money(v), "EffectiveDate": effective}],
        }
        for n, v in TAX_RATES
    ]
    rate_refs = simple_list(ctx, "TaxRate", rates)
    codes = [
        {
            "Name": ref["name"],
            "Description": ref["name"],
            "Active": True,
            "Taxable": True,
            "TaxGroup": True,
            "SalesTaxRateList": {
                "TaxRateDetail": [{"TaxRateRef": ref, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}]
            },
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        }
        for ref in rate_refs
    ]
    code_refs = simple_list(ctx, "TaxCode", codes)
    if code_refs[1]["value"] != SALES_TAX_CODE or rate_refs[1]["value"] != ctx.tax.rate_id:
        raise AssertionError("the sales tax code must be TaxCode 2 on the second TaxRate")


def tracking_lists(ctx: Context) -> None:
    """Classes (one with a sub-class), departments (locations) and customer types."""
    p = ctx.profile
    at = ctx.clock.at(0, 10 * HOUR)
    if p.customer_types:
        types = [{"Name": n, "Active": True} for n in CUSTOMER_TYPES[: p.customer_types]]
        ctx.customer_types = simple_list(ctx, "CustomerType", types, ct=at)
    if p.classes:
        rows: list[Doc] = [
            {"Name": n, "SubClass": False, "FullyQualifiedName": n, "Active": True}
            for n in CLASSES[: p.classes]
        ]
        ctx.classes = simple_list(ctx, "Class", rows, ct=at)
        parent = ctx.classes[1] if len(ctx.classes) > 1 else ctx.classes[0]
        child = {
            "Name": "Commercial",
            "SubClass": True,
            "ParentRef": ref_to(parent["value"], parent["name"]),
            "FullyQualifiedName": f"{parent['name']}:Commercial",
            "Active": True,
        }
        ctx.classes += simple_list(ctx, "Class", [child], ct=at + HOUR)
    if p.departments:
        rows = [
            {"Name": n, "SubDepartment": False, "FullyQualifiedName": n, "Active": True}
            for n in DEPARTMENTS[: p.departments]
        ]
        ctx.departments = simple_list(ctx, "Department", rows, ct=at)
