"""On the demo data the models find exactly what the generator planted: no misses, no false alarms."""

from __future__ import annotations

from collections import Counter

from tests.demo_runs import DemoRun


def test_dbt_build_passed_every_model_data_test_and_unit_test(demo_run: DemoRun) -> None:
    line = next(line for line in demo_run.output.splitlines() if line.startswith("dbt build"))
    assert line.startswith("dbt build passed"), demo_run.output[-3000:]
    assert " models built" in line and " tests passed" in line and " unit tests passed" in line


def test_drift_is_exactly_what_was_planted_with_the_right_action(demo_run: DemoRun) -> None:
    found = {
        (e, p, f): a
        for e, p, f, a in demo_run.rows("SELECT entity, platform_id, field, action FROM sync.sync_drift")
    }
    planted = {(d["entity"], d["platform_id"], d["field"]): d["action"] for d in demo_run.planted["drift"]}
    assert set(found) - set(planted) == set(), "false alarms"
    assert set(planted) - set(found) == set(), "missed drift"
    assert found == planted
    actions = Counter(planted.values())
    assert actions["push"] and actions["pull"] and actions["review"]  # the demo shows each kind


def test_conflicts_are_the_records_changed_on_both_sides(demo_run: DemoRun) -> None:
    found = {
        (e, p): fields
        for e, p, fields in demo_run.rows("SELECT entity, platform_id, fields FROM sync.sync_conflicts")
    }
    planted = {(c["entity"], c["platform_id"]): ", ".join(c["fields"]) for c in demo_run.planted["conflicts"]}
    assert found == planted and planted


def test_candidate_matches_pair_exactly_the_unlinked_twins(demo_run: DemoRun) -> None:
    everything = demo_run.rows("SELECT entity, platform_id, qbo_id, is_best FROM sync.sync_candidate_matches")
    planted = {tuple(c) for c in demo_run.planted["candidates"]}
    assert {(e, p, q) for e, p, q, _ in everything} == planted  # nothing else scored high enough
    assert all(best for *_, best in everything)
    assert {e for e, *_ in planted} == {"Customer", "Vendor", "Item", "Invoice", "Bill", "Payment"}


def test_mappings_say_how_every_record_maps(demo_run: DemoRun) -> None:
    by_status = {
        status: {(e, pid or qid) for e, pid, qid, s in rows if s == status}
        for rows in [demo_run.rows("SELECT entity, platform_id, qbo_id, status FROM sync.sync_mappings")]
        for status in ("linked", "platform_only", "qbo_only")
    }
    linked = {(e, p) for e, p, _ in demo_run.planted["links"]}
    assert by_status["linked"] == linked
    assert by_status["platform_only"] == {tuple(x) for x in demo_run.planted["platform_only"]}
    assert by_status["qbo_only"] == {(e, q) for e, q, _ in demo_run.planted["qbo_only"]}
    links = demo_run.rows(
        "SELECT entity, platform_id, qbo_id FROM sync.sync_mappings WHERE status = 'linked'"
    )
    assert {tuple(r) for r in links} == {tuple(x) for x in demo_run.planted["links"]}


def test_refused_records_are_sync_issues_naming_the_field(demo_run: DemoRun) -> None:
    refused = demo_run.rows("SELECT entity, platform_id, errors FROM staging.stg_platform__rejected")
    planted = {(r["entity"], r["record_id"]): r["fields"] for r in demo_run.planted["rejected"]}
    assert {(e, p) for e, p, _ in refused} == set(planted)
    for entity, platform_id, errors in refused:
        assert planted[(entity, platform_id)][0] in errors
    issues = demo_run.rows("SELECT entity, platform_id FROM sync.sync_issues WHERE issue = 'rejected'")
    assert set(issues) == set(planted)


def test_outbound_holds_the_creates_updates_and_approvals_the_drift_implies(demo_run: DemoRun) -> None:
    outbound = {}
    for model in ("customers", "vendors", "items", "invoices", "bills", "payments"):
        sql = "SELECT entity, platform_id, operation, needs_approval, payload_fields FROM sync.outbound_"
        for entity, pid, operation, approval, fields in demo_run.rows(sql + model):
            outbound[(entity, pid)] = (operation, approval, fields)
    creates = {k for k, v in outbound.items() if v[0] == "create"}
    assert creates == {tuple(x) for x in demo_run.planted["platform_only"]}  # the demo tenant masters all six
    pending = {(k, v[0]) for k, v in outbound.items() if v[1]}
    assert pending == {
        ((p["entity"], p["platform_id"]), p["operation"]) for p in demo_run.planted["pending_approval"]
    }
    pushes: dict[tuple[str, str], set[str]] = {}
    for d in demo_run.planted["drift"]:
        if d["action"] == "push" and (d["entity"], d["platform_id"]) not in {k for k, _ in pending}:
            pushes.setdefault((d["entity"], d["platform_id"]), set()).add(d["field"])
    updates = {k: set(v[2].split(", ")) for k, v in outbound.items() if v[0] == "update"}
    assert updates == pushes  # sparse: exactly the drifted platform-mastered fields
    conflicted = {(c["entity"], c["platform_id"]) for c in demo_run.planted["conflicts"]}
    assert not conflicted & set(outbound)


def test_inbound_changes_are_the_pulls(demo_run: DemoRun) -> None:
    found = set(demo_run.rows("SELECT entity, platform_id, field FROM sync.inbound_changes"))
    planted = {
        (d["entity"], d["platform_id"], d["field"])
        for d in demo_run.planted["drift"]
        if d["action"] == "pull"
    }
    assert found == planted and planted


def test_edge_cases_survive_the_round_trip(demo_run: DemoRun) -> None:
    cases = {c["case"] for c in demo_run.planted["edge_cases"]}
    assert {
        "unicode",
        "name_over_100_characters",
        "missing_email",
        "not_taxable",
        "partial_payment",
        "voided_invoice",
    } <= cases
    long_name = next(c for c in demo_run.planted["edge_cases"] if c["case"] == "name_over_100_characters")
    problems = demo_run.rows(
        "SELECT preflight_problems FROM sync.outbound_customers WHERE platform_id = ?",
        long_name["platform_id"],
    )
    assert problems and "display_name is longer than 100 characters" in problems[0][0]
    unicode_case = next(
        c
        for c in demo_run.planted["edge_cases"]
        if c["case"] == "unicode"
        and (c["entity"], c["platform_id"]) in {tuple(x) for x in demo_run.planted["platform_only"]}
    )
    name = demo_run.rows(
        "SELECT display_name FROM sync.outbound_customers WHERE platform_id = ?", unicode_case["platform_id"]
    )
    assert name == [("Zoë Ångström-Nguyễn Design Studio",)]  # the characters reach the payload intact
