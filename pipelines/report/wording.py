"""What the report says a person should do, in plain words and with `qbo` commands that exist.

Said once per action on the page; the files carry a short form on every row, because a spreadsheet
row is read alone (filtered, sorted). No warehouse model is ever named: the reader does not know them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipelines.report import formatting as fmt


@dataclass(frozen=True)
class Action:
    key: str
    title: str
    explanation: str
    short: str  # the files' what_to_do


# the drift, by what happens next; in the page's order (decisions first)
ACTIONS = {
    "review": Action(
        "review",
        "To review: changed in both systems",
        "Changed in both the platform and QuickBooks since the last sync, so neither value wins on its "
        "own: decide which value is right, keep it in the system that masters the field and correct "
        "the other. `qbo push` leaves these records alone until the two agree.",
        "Changed in both systems since the last sync: decide which value is right and correct the other "
        "system",
    ),
    "approval": Action(
        "approval",
        "Waiting for approval: deactivations and voids",
        "The platform deactivated or voided these records. QuickBooks cannot undo a void, so nothing is "
        "sent until someone approves it: `qbo approve` lists what waits, `qbo approve --entities "
        "<entity> --id <platform id> --by <your name>` approves one, and the next `qbo push` sends it.",
        "Approve it with `qbo approve --entities {entity} --id {platform_id}`; the next `qbo push` sends it",
    ),
    "push": Action(
        "push",
        "To push to QuickBooks",
        "The platform masters these fields, so its value is the right one: the next `qbo push` writes "
        "it to QuickBooks. Nothing to do unless the platform's value is wrong; then correct it in the "
        "platform.",
        "The platform masters this field: the next `qbo push` writes the platform's value to QuickBooks",
    ),
    "pull": Action(
        "pull",
        "To take into the platform",
        "QuickBooks masters these fields (or did what the platform cannot undo, such as a void): the "
        "platform should take QuickBooks' value. `qbo platform deliver` puts the change in the feed the "
        "platform reads; the platform applies it.",
        "QuickBooks masters this field: the platform takes QuickBooks' value (`qbo platform deliver`)",
    ),
}
VOIDED_IN_QBO = "Voided in QuickBooks, which cannot be undone: mark it voided in the platform"

CONFLICTS = (
    "Records changed in both systems since the last sync, or changed in QuickBooks while a push was on "
    "its way. For each, decide which value is right, keep it in the system that masters the field and "
    "correct the other system; `qbo push` leaves these records alone until the values agree. Their "
    "values are side by side under Drift, “To review”."
)
CONFLICT_SHORT = (
    "Decide which value is right for each field, keep it where the field is mastered and correct the "
    "other system"
)

CANDIDATES = (
    "A platform record not linked to QuickBooks yet, and an unlinked QuickBooks record that looks like "
    "it (the score is the weight of the match keys that agree). If they are the same, link them: store "
    "the QuickBooks Id as the platform record's qboId, load the platform records again (`qbo platform "
    "load`) and run `qbo transform`. Until they are linked, `qbo push` does not create the platform "
    "record in QuickBooks, so no duplicate is made."
)
CANDIDATE_SHORT = (
    "If they are the same record, store the QuickBooks Id as the platform record's qboId and load the "
    "platform records again (`qbo platform load`)"
)

# sync issues, by kind: (title, what to do)
ISSUES = {
    "conflict": (
        "Changed in both systems",
        "The records listed under Conflicts: decide which value is right for each field and correct the "
        "other system.",
    ),
    "linked_qbo_deleted": (
        "Deleted or merged in QuickBooks",
        "The platform record points to a QuickBooks record that was deleted, or merged into another. "
        "Point it at the surviving QuickBooks record (its qboId), or retire it.",
    ),
    "linked_qbo_missing": (
        "Linked QuickBooks record not found",
        "The QuickBooks Id the platform holds is not in the company's data. Check the platform's qboId, "
        "or sync the company again (`qbo sync`).",
    ),
    "unlinked_reference": (
        "Waiting for a record it refers to",
        "It refers to a customer, vendor, item or invoice that is not in QuickBooks yet. Push or link that "
        "record first (`qbo push` creates what the platform alone has); this one follows.",
    ),
    "preflight": (
        "QuickBooks would refuse it",
        "Checked before sending: QuickBooks would refuse the record as it is. Correct it in the platform; "
        "the next `qbo push` sends it.",
    ),
    "push_refused": (
        "QuickBooks refused the last push",
        "Fix what QuickBooks names, in the platform (or in QuickBooks); the next `qbo push` sends the "
        "corrected record.",
    ),
    "desynced": (
        "Linked QuickBooks record is gone",
        "The last push found the linked QuickBooks record gone. Point the platform record at the right "
        "QuickBooks record, or retire it.",
    ),
    "rejected": (
        "Refused when loaded",
        "The platform sent a record that breaks the contract, and it was kept aside. Fix the fields "
        "named and load the platform records again (`qbo platform load`).",
    ),
    "value_out_of_range": (
        "Amount too large to read",
        "QuickBooks (or the platform) holds a number beyond what the reports read, so it shows empty. "
        "Check it where it is held and correct it if it is a mistake.",
    ),
    "value_rounded": (
        "Number loaded rounded",
        "QuickBooks holds a number more precise than the warehouse keeps; it was loaded rounded. Check it "
        "in QuickBooks, and acknowledge the issue if it is right.",
    ),
}

CHANGED_IN = {
    "platform": "changed in the platform",
    "qbo": "changed in QuickBooks",
    "both": "changed in both",
    "unknown": "not synced before",
}
MODEL_NAME = re.compile(r"\b(sync|inbound|outbound|stg|int|finance)_\w+")
OPERATIONS = {"voided": "void", "active": "deactivation"}


def bucket(row: dict[str, Any]) -> str:
    """The action a drift row is listed under: review, approval, push or pull."""
    if row.get("action") == "review":
        return "review"
    if row.get("needs_approval"):
        return "approval"
    return "push" if row.get("action") == "push" else "pull"


def voided_in_qbo(row: dict[str, Any]) -> bool:
    return (
        row.get("field") == "voided"
        and row.get("action") == "pull"
        and fmt.yes_no(row.get("qbo_value")) == "Yes"
    )


def what_to_do(row: dict[str, Any]) -> str:
    """The files' short advice for one drift row."""
    if voided_in_qbo(row):
        text = VOIDED_IN_QBO
    else:
        text = ACTIONS[bucket(row)].short.format(entity=row.get("entity"), platform_id=row.get("platform_id"))
    if row.get("resolved_by"):
        text = f"Resolved by {row['resolved_by']}. {text}"
    return text


def issue(kind: str, fallback: str | None) -> tuple[str, str]:
    """An issue kind's title and advice; an unknown kind in words, with the warehouse's advice unless
    that names a warehouse model."""
    if kind in ISSUES:
        return ISSUES[kind]
    plain = fallback if fallback and not MODEL_NAME.search(fallback) else "See the detail of each record."
    return fmt.label(kind), plain
