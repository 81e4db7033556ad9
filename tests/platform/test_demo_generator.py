"""The demo platform generator: valid DTOs overlapping the sandbox company, deterministic, and a
record of every difference it planted (the transform tests compare the models with it)."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.demo.platform_records import check, generate, qbo_company
from sandbox.demo.tour import DEMO_POLICY

REALM = "4620816365"


def generated(tmp_path: Path, name: str = "out") -> tuple[dict, Path]:
    store = qbo_company("demo", 3, REALM, "America/Los_Angeles")
    result = generate(store, REALM, tmp_path / name, seed=3, policy=DEMO_POLICY)
    assert check(result) == []  # every record but the planted refusals passes its DTO
    return result.planted.__dict__, tmp_path / name


def test_every_kind_of_difference_is_planted_and_recorded(tmp_path: Path) -> None:
    planted, out = generated(tmp_path)
    assert planted["links"] and planted["candidates"] and planted["platform_only"] and planted["qbo_only"]
    assert {d["changed"] for d in planted["drift"]} == {"platform", "qbo", "both"}
    assert {d["action"] for d in planted["drift"]} == {"push", "pull", "review"}
    assert {p["operation"] for p in planted["pending_approval"]} == {"void", "deactivate"}
    assert {r["record_id"] for r in planted["rejected"]} == {"cus_bad_email", "inv_bad_total"}
    conflicted = {(c["entity"], c["platform_id"]) for c in planted["conflicts"]}
    assert conflicted == {
        (d["entity"], d["platform_id"]) for d in planted["drift"] if d["action"] == "review"
    }
    # linked, candidate and platform-only records are disjoint; together they are every record written
    linked = {(e, p) for e, p, _ in planted["links"]}
    candidates = {(e, p) for e, p, _ in planted["candidates"]}
    only = {tuple(x) for x in planted["platform_only"]}
    refused = {(r["entity"], r["record_id"]) for r in planted["rejected"]}
    assert not (linked & candidates or linked & only or candidates & only)
    assert len(linked) + len(candidates) + len(only) + len(refused) == sum(planted["counts"].values())
    assert (out / "invoices.jsonl").stat().st_size > 0 and (out / "planted.json").is_file()


def test_the_same_seed_and_day_make_the_same_platform(tmp_path: Path) -> None:
    _, first = generated(tmp_path, "a")
    _, second = generated(tmp_path, "b")
    for path in sorted(first.glob("*.jsonl")):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_records_speak_the_integration_contract(tmp_path: Path) -> None:
    """Voids are a status (`voided` is read-only), terms are QBO Term Ids, lines carry their ids."""
    planted, out = generated(tmp_path)
    invoices = {r["id"]: r for r in map(json.loads, (out / "invoices.jsonl").open(encoding="utf-8"))}
    (void,) = [p for p in planted["pending_approval"] if p["operation"] == "void"]
    assert invoices[void["platform_id"]]["status"] == "voided"
    assert not any("voided" in r for r in invoices.values())
    assert all(line["id"] and "description" in line for r in invoices.values() for line in r["lines"])
    customers = [json.loads(line) for line in (out / "customers.jsonl").open(encoding="utf-8")]
    assert {c["paymentTermsId"] for c in customers if c.get("paymentTermsId")} <= {"1", "2", "3", "4"}
    not_taxable = {c["platform_id"] for c in planted["edge_cases"] if c["case"] == "not_taxable"}
    assert not_taxable and all(c["defaultTaxable"] is False for c in customers if c["id"] in not_taxable)
