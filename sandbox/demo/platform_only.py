"""Records only the platform has: new customers, items, vendors, invoices, bills and partial payments
to create in QBO (edge cases among them), and two records the contract refuses."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pipelines.mapping.values import money
from sandbox.demo.planting import Planted, Planter
from sandbox.demo.sink import Sink

LONG_NAME = (
    "Consolidated Northern California Municipal Water, Irrigation, Landscape Maintenance "
    "& Environmental Restoration Services Cooperative"
)


def plant_platform_only(planter: Planter, sink: Sink) -> None:
    """Platform-only records (to create in QBO) and the records the contract refuses."""
    now = planter.now - timedelta(hours=1)
    linked_customers, linked_items = sink.linked["Customer"], sink.linked["Item"]
    linked_vendors = sink.linked["Vendor"]
    drifting = {d["platform_id"] for d in planter.planted.drift if d["entity"] == "Invoice"}
    open_invoices = [r for r in sink.open_invoices if r["id"] not in drifting]
    net_30 = planter.terms.get("Net 30")  # a QBO Term Id
    new_customers = [
        ("Zoë Ångström-Nguyễn Design Studio", "zoe@angstrom-design.example", {"case": "unicode"}),
        (LONG_NAME, "office@consolidated-water.example", {"case": "name_over_100_characters"}),
        ("Harbor Lights Community Theater", None, {"case": "missing_email"}),
        ("Saint Brigid Parish School", "office@stbrigid.example", {"case": "not_taxable"}),
        ("Quarry Lane Apartments", "leasing@quarrylane.example", {}),
    ]
    for n, (name, email, edge) in enumerate(new_customers):
        record = {
            **planter.base("Customer", planter.next_id("Customer"), now),
            "displayName": name,
            "legalName": name[:100],
            "phone": f"(555) 010-{2000 + n:04d}",
            "billingAddress": {
                "line1": f"{100 + n} Platform Way",
                "city": "Oakland",
                "region": "CA",
                "postalCode": "94607",
            },
            "defaultTaxable": edge.get("case") != "not_taxable",  # a tax-exempt school
            "updatedAt": now,
        }
        if net_30:
            record["paymentTermsId"] = net_30
        if email:
            record["email"] = email
        sink.add("Customer", record)
        _only(planter.planted, "Customer", record, edge)
    new_customer = record  # one platform-only invoice bills it: it must wait for the customer
    for n in range(2):
        record = {
            **planter.base("Item", planter.next_id("Item"), now),
            "name": f"Platform Service Plan {n + 1}",
            "sku": f"PSP-{n + 1:03d}",
            "type": "service",
            "salesPrice": Decimal("149.00"),
            "description": "Seasonal service plan",
            "updatedAt": now,
        }
        sink.add("Item", record)
        _only(planter.planted, "Item", record, {})
    for n in range(2):
        record = {
            **planter.base("Vendor", planter.next_id("Vendor"), now),
            "name": f"Bayside Platform Supply {n + 1}",
            "email": f"ap{n + 1}@bayside-supply.example",
            "updatedAt": now,
        }
        sink.add("Vendor", record)
        _only(planter.planted, "Vendor", record, {})
    rng = random.Random(f"{planter.seed}/extras")
    customers_for_invoices = [*rng.sample(linked_customers, min(3, len(linked_customers))), new_customer]
    for n, customer in enumerate(customers_for_invoices):
        item = linked_items[(n * 7) % len(linked_items)] if linked_items else None
        if item is None:
            break
        price = money(item.get("salesPrice") or 50) or Decimal("50.00")
        invoice_id = planter.next_id("Invoice")
        lines = [
            {
                "id": f"{invoice_id}-1",
                "lineNumber": 1,
                "itemId": item["id"],
                "description": "Platform order",
                "quantity": Decimal(2),
                "unitPrice": price,
                "amount": money(price * 2),
            }
        ]
        total = lines[0]["amount"]
        txn = planter.today - timedelta(days=3)
        record = {
            **planter.base("Invoice", invoice_id, now),
            "number": f"P-{9001 + n}",
            "customerId": customer["id"],
            "issueDate": txn,
            "dueDate": txn + timedelta(days=30),
            "lines": lines,
            "totalAmount": total,
            "balance": total,
            "status": "open",
            "version": 0,
            "updatedAt": now,
        }
        sink.add("Invoice", record)
        _only(
            planter.planted,
            "Invoice",
            record,
            {} if customer.get("qboId") else {"case": "references_unlinked_customer"},
        )
    for n, vendor in enumerate(linked_vendors[:2]):
        txn = planter.today - timedelta(days=5)
        lines = [
            {
                "lineNumber": 1,
                "description": "Platform purchase",
                "amount": Decimal("420.00"),
                "expenseAccountId": sink.expense_account or "1",
            }
        ]
        record = {
            **planter.base("Bill", planter.next_id("Bill"), now),
            "vendorId": vendor["id"],
            "referenceNumber": f"PB-{501 + n}",
            "billDate": txn,
            "dueDate": txn + timedelta(days=30),
            "lines": lines,
            "totalAmount": Decimal("420.00"),
            "balance": Decimal("420.00"),
            "updatedAt": now,
        }
        sink.add("Bill", record)
        _only(planter.planted, "Bill", record, {})
    for invoice in open_invoices[:2]:
        amount = money(Decimal(invoice["balance"]) / 2)
        record = {
            **planter.base("Payment", planter.next_id("Payment"), now),
            "customerId": invoice["customerId"],
            "date": planter.today - timedelta(days=1),
            "amount": amount,
            "method": "Check",
            "referenceNumber": f"PP-{invoice['id'][-4:]}",
            "appliedInvoices": [{"invoiceId": invoice["id"], "amount": amount}],
            "updatedAt": now,
        }
        sink.add("Payment", record)
        _only(planter.planted, "Payment", record, {"case": "partial_payment"})
    _refused(planter, sink, now)


def _only(planted: Planted, entity: str, record: dict[str, Any], edge: dict[str, str]) -> None:
    planted.platform_only.append([entity, record["id"]])
    if edge:
        planted.edge_cases.append({**edge, "entity": entity, "platform_id": record["id"]})


def _refused(planter: Planter, sink: Sink, now: datetime) -> None:
    bad_email = {
        **planter.base("Customer", "cus_bad_email", now),
        "displayName": "Broken Email Ltd",
        "email": "billing at broken",
        "updatedAt": now,
    }
    bad_total = {
        **planter.base("Invoice", "inv_bad_total", now),
        "customerId": sink.first["Customer"]["id"],
        "issueDate": planter.today,
        "lines": [
            {
                "id": "inv_bad_total-1",
                "lineNumber": 1,
                "itemId": sink.first["Item"]["id"],
                "description": "Platform order",
                "quantity": 1,
                "unitPrice": 10,
                "amount": 10,
            }
        ],
        "status": "open",
        "totalAmount": 99,  # the lines come to 10: the contract refuses it
        "balance": 10,
        "version": 0,
        "updatedAt": now,
    }
    sink.add("Customer", bad_email)
    sink.add("Invoice", bad_total)
    planter.planted.rejected += [
        {"entity": "Customer", "record_id": "cus_bad_email", "fields": ["email"]},
        {"entity": "Invoice", "record_id": "inv_bad_total", "fields": ["totalAmount"]},
    ]
