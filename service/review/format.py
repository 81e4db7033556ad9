"""How the console says things: money in its currency, dates a person reads, and what to do, in words.

Finance reads "$1,234.50" and "12 Mar 2025", not `1234.500000` and ISO timestamps; and the advice for
a kind of entry is said once above the table, in plain words, rather than repeated on every row.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pipelines.report import formatting as report_format

QUEUE_TITLES = {
    "conflict": "Conflicts",
    "drift": "Drift to review",
    "candidate": "Candidate matches",
    "approval": "Approvals",
    "issue": "Sync issues",
}
QUEUE_MEANING = {
    "conflict": "changed in both systems since the last sync: someone must say which value is right",
    "drift": "a field differs between the platform and QuickBooks",
    "candidate": "records that look like the same customer, vendor or document but are not linked",
    "approval": "voids and deactivations wait for a person before they reach QuickBooks",
    "issue": "records the sync could not handle on its own",
}
# what to do about an entry, by queue and action: said once per page, above the table
HELP = {
    ("conflict", None): "Both systems changed these values since the last sync: compare the two values "
    "and keep the one that is right (on the record's page); the other system is corrected at the next sync.",
    ("drift", "push"): "The platform owns these fields: the next push writes the platform's value to "
    "QuickBooks. Nothing to do unless the platform's value is wrong.",
    ("drift", "pull"): "QuickBooks owns these fields: the platform will take QuickBooks' value. Nothing to "
    "do unless QuickBooks' value is wrong.",
    ("drift", "review"): "Both systems changed these values: keep the right one.",
    ("candidate", None): "These look like the same record in both systems. Confirm a match to link them "
    "(nothing is created twice), or reject it to keep them apart.",
    ("approval", "void"): "Voiding keeps the document in QuickBooks with a zero amount. Approve only voids "
    "you expect; rejected ones are left as they are.",
    ("approval", "deactivate"): "Deactivating hides the customer, vendor or item in QuickBooks (its "
    "history stays). Approve only those no longer in use.",
    ("issue", None): "The sync could not handle these on its own. Fix the cause in the system named, then "
    "acknowledge the issue so it leaves the queue.",
}

# sync issues, by kind: (what it is, what to do)
ISSUES = {
    "linked_qbo_deleted": ("Deleted or merged in QuickBooks", "The platform record points to a QuickBooks "
                           "record that was deleted or merged into another: point it at the surviving "
                           "record, or retire it."),
    "linked_qbo_missing": ("Linked QuickBooks record not found", "The QuickBooks Id the platform holds is "
                           "not in the company's data: check it in the platform, or sync the company again."),
    "unlinked_reference": ("Waiting for a record it refers to", "It refers to a customer, vendor, item or "
                           "invoice not in QuickBooks yet: that record goes first, then this one follows."),
    "preflight": ("QuickBooks would refuse it", "Checked before sending: QuickBooks would refuse the record "
                  "as it is. Correct it in the platform; the next push sends it."),
    "push_refused": ("QuickBooks refused the last push", "Fix what QuickBooks names (the detail), in the "
                     "platform or in QuickBooks; the next push sends the corrected record."),
    "desynced": ("Linked QuickBooks record is gone", "The last push found the linked QuickBooks record "
                 "gone: point the platform record at the right one, or retire it."),
    "rejected": ("Refused when loaded", "The platform sent a record that breaks the contract; it was kept "
                 "aside. Fix the fields named in the platform."),
    "value_out_of_range": ("Amount too large to read", "QuickBooks (or the platform) holds a number beyond "
                           "what the reports read, so it shows empty: check it where it is held."),
    "value_rounded": ("Number loaded rounded", "QuickBooks holds a number more precise than the warehouse "
                      "keeps; it was loaded rounded: check it in QuickBooks."),
}  # fmt: skip
ISSUE_CLOSING = " Acknowledge the issue once it is handled."


def help_for(queue: str, action: str | None) -> str | None:
    if queue == "issue" and action in ISSUES:
        return ISSUES[action][1] + ISSUE_CLOSING
    return HELP.get((queue, action)) or HELP.get((queue, None))


def action_label(queue: str, action: str | None) -> str:
    """What an action is called above the table: an issue by what it is, the rest by name."""
    if queue == "issue" and action in ISSUES:
        return ISSUES[action][0]
    return humanize(action) or "All"


def decimal_of(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def money(value: Any, currency: str | None = None) -> str:
    """As the drift report says money ("$1,234.50", "-€12.00", "SEK 1,000.00"); "" for no amount."""
    return "" if decimal_of(value) is None else report_format.money(value, currency)


def when(value: Any) -> str:
    """ "12 Mar 2025" for a date, "12 Mar 2025 14:05 UTC" for a time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            text = value.replace("Z", "+00:00")
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value
        return f"{value.day} {value:%b %Y %H:%M} UTC"
    if isinstance(value, date):
        return f"{value.day} {value:%b %Y}"
    return str(value)


def day(value: Any) -> str:
    """The date alone: what a table column needs."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value
        return f"{value.day} {value:%b %Y}"
    return when(value)


def age(value: Any, now: datetime | None = None) -> str:
    """How long ago, in the largest unit that fits: "3 days ago"."""
    if not isinstance(value, datetime):
        return ""
    seconds = ((now or datetime.now(UTC)) - value.astimezone(UTC)).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def value_text(value: Any) -> str:
    """A field's value as a person reads it; structured values compactly."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    return text if text.strip() else "(blank)"


def humanize(name: str | None) -> str:
    """`customer_id` / `customerId` -> "Customer id"."""
    if not name:
        return ""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in str(name)).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:]


def plural(word: str, count: int) -> str:
    if count == 1:
        return word
    if word.endswith("y") and not word.endswith("ey"):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch")) else "s")
