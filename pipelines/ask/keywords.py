"""The words that tell the rule parser what is asked: the operation, the status, count or sum, and
the verbs it refuses (delete, void, change) before anything else is read.

Patterns run on folded text (see `folded_text`), where a name already read is masked: "did <name> pay"
reads the mask, so a customer called "Paid Ltd" is not a status.
"""

from __future__ import annotations

import re

from pipelines.ask.folded_text import MASK

LEAD = (
    r"^(?:(?:please|pls|kindly|can\s+you|could\s+you|would\s+you|will\s+you|go\s+ahead\s+and|i\s+want\s+to|"
    r"i'd\s+like\s+to|i\s+need\s+to|we\s+need\s+to|let's|lets|now|and|then|also|ok|okay),?\s+)*"
)
DESTRUCTIVE = re.compile(
    r"\b(?:delete|deleting|deleted\s+(?:it|them)|remove|removing|erase|purge|drop|truncate|destroy|wipe|"
    r"deactivate|inactivate|disable|archive|write\s*-?\s*off|refund|reverse|undo)\b"
)
VOID_VERB = re.compile(
    LEAD + r"(?:void|cancel|reverse)\b|\bto\s+(?:void|cancel)\b|"
    r"\b(?:void|cancel)\s+(?:the|this|that|it|them|an?|invoice\s*(?:#|no|number|\d)|bill\s*(?:#|no|number|\d)|#)"
)
MODIFY = re.compile(
    LEAD + r"(?:update|edit|modify|change|rename|merge|mark|apply|pay|settle|close|reopen|adjust|assign)\b"
)
CREATE = re.compile(
    r"\b(?:create|raise|draft|issue|prepare|make|add|enter|record|generate|write|set\s+up|new|start|open\s+up)"
    r"\b(?:\s+(?:me|us|up|out|a|an|the|new|draft|another|one|single)\b)*\s+(?P<ent>invoice|bill)\b"
    r"|^(?P<verb>invoice)\s+" + MASK
)
PAYMENT_NOUN = re.compile(r"\bpayments?\b")
INVOICE = re.compile(r"\b(?:invoic(?:e|es|ed|ing)|billed|sales|revenue|receivables?|a/r)\b")
BILL = re.compile(r"\b(?:bills?|payables?|a/p|expenses)\b")
WE_PAY = re.compile(r"\b(?:we|i)\s+(?:paid|pay)\b")
WE_SPEND = re.compile(r"\b(?:we|i)\s+(?:spent|spend)\b|\bspending\b")
# "are we owed" is money owed to us: the passive is OWES_US's
WE_OWE = re.compile(r"(?<!\bare\s)(?<!\bwere\s)(?<!\bam\s)\b(?:we|i)\s+(?:still\s+)?(?:owe|owed)\b")
OWES_US = re.compile(
    rf"\bowes?\s+us\b|\bwho\s+(?:still\s+)?owes\b|\b(?:does|do|did)\s+{MASK}+\s+(?:still\s+)?owe\b|\bowed\s+to\s+us\b|\b(?:is|are)\s+owed\b"
    r"|\b(?:are|were|am)\s+(?:we|i)\s+(?:still\s+)?owed\b"
)
# money owed with nothing named ("how much is overdue", "what is outstanding"): owed to us, as on invoices
OWED_STATE = re.compile(r"\b(?:overdue|past[\s-]due|outstanding|unpaid|receivables?|a/r|due)\b")
PAY_VERB = re.compile(
    rf"\b(?:paid|pay|pays)\s+us\b|\b(?:did|has|have|had)\s+{MASK}+\s+(?:\w+\s+)?(?:pay|paid)\b|{MASK}\s+paid\b|"
    r"\b(?:received|receive|collected|collect|receipts?|came\s+in|brought\s+in)\b"
)
CUSTOMERS = re.compile(r"\b(?:customers|clients)\b")
CUSTOMER = re.compile(r"\b(?:customer|client)\b")
VENDOR = re.compile(r"\b(?:vendors?|suppliers?)\b")
COUNT = re.compile(r"\bhow\s+many\b|\bcount\b|\bnumber\s+of\b|\bno\.\s+of\b")
AVG = re.compile(r"\b(?:average|avg|mean|typical)\b")
SUM = re.compile(r"\bhow\s+much\b|\btotal\b|\bsum\b|\badd\s+up\b|\baltogether\b|\bin\s+all\b")
STATUSES: list[tuple[str, re.Pattern[str]]] = [
    ("voided", re.compile(r"\b(?:voided|void|cancell?ed)\b")),
    ("overdue", re.compile(r"\b(?:overdue|past[\s-]due|late|delinquent|in\s+arrears)\b")),
    (
        "unpaid",
        re.compile(
            r"\b(?:unpaid|outstanding|owing|owed|owes?|unsettled|due|not(?:\s+yet)?\s+(?:been\s+)?(?:fully\s+)?paid|"
            r"(?:has|have|is|are|was|were)n'?t\s+(?:yet\s+)?(?:been\s+)?paid|(?:has|have|is|are)\s+not\s+(?:yet\s+)?(?:been\s+)?paid)\b"
        ),
    ),
    ("open", re.compile(r"\bopen\b")),
    ("paid", re.compile(r"\b(?:paid|settled|closed)\b")),
]
DESCRIPTION = re.compile(r"\b(?:for|description|memo|note|re|covering|regarding)\b:?\s+")
TRAILING = re.compile(
    r"(?:\s+(?:in|on|during|for|from|at|of|dated|due|and|with|to|the|a|an))+$", re.IGNORECASE
)
