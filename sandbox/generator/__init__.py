"""Deterministic company generator: a plausible QBO company, identical for the same (profile, seed, anchor).

The connector is tested against this data, so it must look like a real company to an extractor (QBO's
shapes, references that resolve, balances that add up) and carry the traps real companies have:
same-second LastUpdatedTime ties larger than a page, inactive "(deleted)" names, unicode, voids,
partial and multi-invoice payments, unapplied money, tax-exempt customers, overdue invoices. Every
entity of the catalog appears in every profile but "empty" (purchase orders closed by the bills entered
from them, vendor credits, refund receipts, notes and files attached to existing records).

Sales forms go through the API's own arithmetic (`normalise_lines` + `sales_totals`), so a generated
invoice and one created through the API cannot disagree; the "large" profile (1,000,000 invoices) uses
an integer-cents fast path that the tests prove byte-identical. Transactions are streamed to the store
in chunks, with each chunk's payments planned inside it, so memory stays bounded whatever the size.
Every random draw comes from `random.Random` streams derived from the seed; nothing reads the clock.
"""

from sandbox.generator.driver import populate
from sandbox.generator.profiles import PROFILES, Profile

__all__ = ["PROFILES", "Profile", "populate"]
