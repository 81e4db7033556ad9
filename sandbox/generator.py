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

from __future__ import annotations

import bisect
import gc
import json
import random
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.clock import company_today, format_meta
from sandbox.rules import CLASSIFICATION, DELETED_SUFFIX, USD, _name_key
from sandbox.store import Realm, Store, dumps
from sandbox.transactions import (
    journal_balanced,
    line_total,
    money,
    normalise_lines,
    sales_totals,
    void_amounts,
)
from sources.quickbooks.catalog import ENTITIES

Doc = dict[str, Any]
Ref = dict[str, str]
HISTORY_DAYS = 3 * 365
HOUR = 3600


# profiles ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """How big a company to make: master counts are targets, document counts are exact."""

    name: str
    customers: int = 0  # top-level customers
    jobs: int = 0  # sub-customers (Job true) under them
    inactive_customers: int = 0
    vendors: int = 0
    inactive_vendors: int = 0
    services: int = 0
    inventory: int = 0
    non_inventory: int = 0
    item_category: bool = False  # a Category item with two sub-items ("Outdoor Furniture:Patio Chair")
    employees: int = 0
    classes: int = 0
    departments: int = 0
    customer_types: int = 0
    invoices: int = 0
    estimates: int = 0  # standalone; invoices converted from estimates bring their own
    estimate_share: float = 0.0  # share of invoices converted from an estimate
    bills: int = 0
    purchase_orders: int = 0  # a quarter still open; the rest were received, each closed by its bill
    sales_receipts: int = 0
    credit_memos: int = 0
    refund_receipts: int = 0
    vendor_credits: int = 0
    journal_entries: int = 0
    deposits: int = 0
    purchases: int = 0
    transfers: int = 0
    time_activities: int = 0
    budgets: int = 0
    attachables: int = 0  # notes and files attached to transactions, customers and vendors
    edge_cases: bool = False  # unicode / ~100-character names, an inactive item, ...
    fast_sales: bool = False  # integer-cents totals instead of the API's Decimal path (same bytes)
    chunk: int = 10_000  # documents per bulk_put
    reminder_cap: int = 1500  # overdue invoices in the last "send reminders" batch (one LastUpdatedTime)


# Tables read best as rows.
# fmt: off
PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("empty"),
    Profile("tiny", customers=4, jobs=1, inactive_customers=1, vendors=3, services=5, inventory=5,
            non_inventory=5, employees=2, classes=1, departments=1, customer_types=1, invoices=10,
            estimates=1, bills=5, purchase_orders=2, sales_receipts=1, credit_memos=1, refund_receipts=1,
            vendor_credits=1, journal_entries=1, deposits=1, purchases=2, transfers=1, time_activities=3,
            budgets=1, attachables=3),
    Profile("demo", customers=48, jobs=12, inactive_customers=6, vendors=25, inactive_vendors=2, services=12,
            inventory=10, non_inventory=8, item_category=True, employees=8, classes=4, departments=3,
            customer_types=4, invoices=600, estimates=15, estimate_share=0.05, bills=250, purchase_orders=30,
            sales_receipts=40, credit_memos=12, refund_receipts=8, vendor_credits=10, journal_entries=24,
            deposits=30, purchases=80, transfers=12, time_activities=150, budgets=1, attachables=25,
            edge_cases=True),
    Profile("medium", customers=400, jobs=60, inactive_customers=30, vendors=80, inactive_vendors=5,
            services=40, inventory=30, non_inventory=20, item_category=True, employees=15, classes=6,
            departments=4, customer_types=5, invoices=100_000, estimates=1_000, estimate_share=0.02,
            bills=10_000, purchase_orders=600, sales_receipts=2_000, credit_memos=500, refund_receipts=200,
            vendor_credits=200, journal_entries=300, deposits=500, purchases=2_000, transfers=100,
            time_activities=2_000, budgets=2, attachables=500, edge_cases=True, fast_sales=True),
    Profile("large", customers=1700, jobs=300, inactive_customers=150, vendors=300, inactive_vendors=20,
            services=80, inventory=70, non_inventory=50, item_category=True, employees=40, classes=8,
            departments=6, customer_types=5, invoices=1_000_000, estimates=10_000, estimate_share=0.02,
            bills=100_000, purchase_orders=6_000, sales_receipts=20_000, credit_memos=5_000,
            refund_receipts=2_000, vendor_credits=2_000, journal_entries=3_000, deposits=5_000,
            purchases=20_000, transfers=1_000, time_activities=20_000, budgets=3, attachables=5_000,
            edge_cases=True, fast_sales=True),
)}


# reference data ---------------------------------------------------------------------------------
# (Name, AccountType, AccountSubType, parent Name, Active): QBO's default US chart, trimmed.
CHART: tuple[tuple[str, str, str, str | None, bool], ...] = (
    ("Checking", "Bank", "Checking", None, True),
    ("Savings", "Bank", "Savings", None, True),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", None, True),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", None, True),
    ("Inventory Asset", "Other Current Asset", "Inventory", None, True),
    ("Prepaid Expenses", "Other Current Asset", "PrepaidExpenses", None, True),
    ("Truck", "Fixed Asset", "Vehicles", None, True),
    ("Furniture and Equipment", "Fixed Asset", "FurnitureAndFixtures", None, True),
    ("Accumulated Depreciation", "Fixed Asset", "AccumulatedDepreciation", None, True),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", None, True),
    ("Mastercard", "Credit Card", "CreditCard", None, True),
    ("Payroll Liabilities", "Other Current Liability", "PayrollTaxPayable", None, True),
    ("Sales Tax Payable", "Other Current Liability", "SalesTaxPayable", None, True),
    ("Loan Payable", "Other Current Liability", "LoanPayable", None, True),
    ("Notes Payable", "Long Term Liability", "NotesPayable", None, True),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity", None, True),
    ("Owner's Investment", "Equity", "OwnersEquity", None, True),
    ("Owner's Draw", "Equity", "PartnerDistributions", None, True),
    ("Retained Earnings", "Equity", "RetainedEarnings", None, True),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", None, True),
    ("Services", "Income", "ServiceFeeIncome", None, True),
    ("Design income", "Income", "ServiceFeeIncome", None, True),
    ("Landscaping Services", "Income", "ServiceFeeIncome", None, True),
    ("Discounts given", "Income", "DiscountsRefundsGiven", None, True),
    ("Fees Billed (deleted)", "Income", "ServiceFeeIncome", None, False),
    ("Interest Earned", "Other Income", "InterestEarned", None, True),
    ("Other Income", "Other Income", "OtherMiscellaneousIncome", None, True),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", None, True),
    ("Advertising", "Expense", "AdvertisingPromotional", None, True),
    ("Automobile", "Expense", "Auto", None, True),
    ("Bank Charges", "Expense", "BankCharges", None, True),
    ("Insurance", "Expense", "Insurance", None, True),
    ("Legal & Professional Fees", "Expense", "LegalProfessionalFees", None, True),
    ("Meals and Entertainment", "Expense", "EntertainmentMeals", None, True),
    ("Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", None, True),
    ("Rent or Lease", "Expense", "RentOrLeaseOfBuildings", None, True),
    ("Repair & Maintenance", "Expense", "RepairMaintenance", None, True),
    ("Supplies", "Expense", "SuppliesMaterials", None, True),
    ("Travel", "Expense", "Travel", None, True),
    ("Utilities", "Expense", "Utilities", None, True),
    ("Gas and Electric", "Expense", "Utilities", "Utilities", True),
    ("Telephone", "Expense", "Utilities", "Utilities", True),
    ("Payroll Expenses", "Expense", "PayrollExpenses", None, True),
    ("Taxes & Licenses", "Expense", "TaxesPaid", None, True),
    ("Depreciation", "Other Expense", "Depreciation", None, True),
    ("Penalties & Settlements", "Other Expense", "PenaltiesSettlements", None, True),
)
EXPENSE_ACCOUNTS = (
    "Advertising", "Automobile", "Bank Charges", "Insurance", "Legal & Professional Fees",
    "Meals and Entertainment", "Office Expenses", "Rent or Lease", "Repair & Maintenance", "Supplies",
    "Travel", "Utilities:Gas and Electric", "Utilities:Telephone", "Taxes & Licenses",
)
TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))  # Id 3 is Net 30, as in QBO
TERM_WEIGHTS = (2, 2, 10, 1)
VENDOR_TERM_WEIGHTS = (1, 3, 10, 2)
PAYMENT_METHODS = (("Cash", "NON_CREDIT_CARD"), ("Check", "NON_CREDIT_CARD"), ("Visa", "CREDIT_CARD"),
                   ("MasterCard", "CREDIT_CARD"), ("American Express", "CREDIT_CARD"))
PAYMENT_METHOD_WEIGHTS = (1, 5, 2, 2, 1)
TAX_AGENCY = "California Department of Tax and Fee Administration"
TAX_RATES = (("Out of state", Decimal(0)), ("California", Decimal("8.25")))  # TaxCode n -> TaxRate n
SALES_TAX_CODE = "2"
CUSTOMER_TYPES = ("Residential", "Commercial", "Government", "Non-profit", "Wholesale", "Hospitality")
CLASSES = ("Landscaping", "Maintenance", "Design", "Irrigation", "Hardscape", "Lighting", "Snow",
           "Consulting")
DEPARTMENTS = ("Downtown", "Uptown", "Online Store", "Harbor", "Valley", "Airport")
MEMO = "Thank you for your business and have a great day!"

# (Name, UnitPrice cents, PurchaseCost cents, Taxable, Description) per item type
SERVICES = (
    ("Design", 7500, 0, False, "Custom Design"),
    ("Installation", 5000, 0, False, "Installation of landscape design"),
    ("Gardening", 2500, 0, False, "Weekly Gardening Service"),
    ("Hours", 0, 0, False, ""),
    ("Pest Control", 3500, 0, False, "Pest Control Services"),
    ("Trimming", 3500, 0, False, "Tree and Shrub Trimming"),
    ("Maintenance & Repair", 0, 0, False, "Maintenance & Repair"),
    ("Consulting", 12000, 0, False, "Site consulting"),
    ("Lighting Installation", 6000, 0, False, "Garden lighting installation"),
    ("Irrigation Audit", 15000, 0, False, "Irrigation system audit"),
    ("Snow Removal", 8500, 0, False, ""),
    ("Tree Removal", 40000, 0, False, "Tree removal and haul-away"),
)
INVENTORY = (
    ("Pump", 1500, 1000, True, "Fountain Pump"),
    ("Rock Fountain", 27500, 12500, True, "Rock Fountain"),
    ("Sprinkler Heads", 200, 75, True, "Sprinkler Heads"),
    ("Sprinkler Pipes", 400, 250, True, "Sprinkler Pipes"),
    ("Garden Lights", 1275, 650, True, "Garden Lighting"),
    ("Birdbath", 8999, 4200, True, "Cast stone birdbath"),
    ("Solar Path Light", 2450, 1125, True, ""),
    ("Drip Line Kit", 3995, 1840, True, "Drip irrigation kit"),
    ("Hose Reel", 5900, 2700, True, ""),
    ("Planter Box", 12900, 6000, True, "Cedar planter box"),
)
NON_INVENTORY = (
    ("Sod", 1000, 0, True, "Square yard"),
    ("Soil", 1000, 0, True, "2 cubic ft. bag"),
    ("Rocks", 2250, 0, True, "Garden Rocks"),
    ("Concrete", 950, 0, True, "Concrete for fountain installation"),
    ("Mulch", 675, 0, True, ""),
    ("Gravel", 2800, 0, True, "Pea gravel, per yard"),
    ("Compost", 825, 0, True, ""),
    ("Fertilizer", 1999, 0, True, "Slow-release fertilizer"),
)
CATEGORY = ("Outdoor Furniture", (("Patio Chair", 14900, 7100), ("Patio Table", 39900, 18800)))
VARIANTS = ("Small", "Medium", "Large", "Premium", "Pro", "XL", "Deluxe", "Compact")

FIRST = (
    "Amy", "Bill", "Carla", "Diego", "Emily", "Frank", "Grace", "Hiro", "Ines", "John", "Kathy", "Luis",
    "Maria", "Nadia", "Omar", "Peter", "Quinn", "Rosa", "Sasha", "Travis", "Uma", "Victor", "Wen", "Xavier",
    "Yara", "Zoë", "José", "Renée", "François", "Björn", "Chloé", "Mateo", "Aisha", "Kenji", "Liam", "Noah",
    "Olivia", "Priya", "Raj", "Sofia", "Tariq", "Elena", "Dmitri", "Fatima", "Giulia", "Hannah", "Ivan",
    "Jasmine", "Kofi", "Lena",
)
LAST = (
    "Dukes", "Freeman", "Tillou", "Pariente", "Paulsen", "Sonnenschein", "Waldron", "Melton", "Platt",
    "Johnson", "Smith", "García", "Müller", "O'Brien", "Nguyen", "Kowalski", "Rossi", "Schmidt", "Tanaka",
    "Andersen", "Lefèvre", "Novak", "Okafor", "Patel", "Quintero", "Russo", "Silva", "Thompson", "Ueda",
    "Vargas", "Weber", "Xu", "Young", "Zimmerman", "Brennan", "Castillo", "Dubois", "Eriksson", "Fischer",
    "Gallagher", "Hoffmann", "Ibáñez", "Jensen", "Kim", "Larsen", "Moreau", "Nakamura", "Olsen", "Peña",
    "Reyes", "Sato", "Takahashi", "Walsh", "Yilmaz", "Zhang", "Bauer", "Costa", "Dvořák", "Fernández",
    "Haddad",
)
TRADES = (
    "Landscaping", "Plumbing", "Bakery", "Dental", "Auto Repair", "Bookstore", "Café", "Construction",
    "Design Studio", "Florist", "Fitness", "Hardware", "Law Office", "Medical Supplies", "Pet Supplies",
    "Printing", "Realty", "Roofing", "Sporting Goods", "Veterinary Clinic", "Winery", "Yoga Studio",
    "Catering", "Consulting", "Electric", "Family Store", "Garage", "Hotel", "Insurance", "Jewelers",
    "Kitchen Supply", "Marina", "Nursery", "Optometry", "Pharmacy", "Salon", "Tailors", "Upholstery",
    "Vineyards", "Woodworks",
)
ADJECTIVES = (
    "Golden", "Blue Ridge", "Cool", "Pacific", "Summit", "Redwood", "Sunrise", "Evergreen", "Harbor",
    "Silver", "Oak", "Maple", "Cedar", "Coastal", "Valley", "Mountain", "River", "Lakeside", "Prairie",
    "Desert", "Northern", "Southern", "Eastside", "Westside", "Urban", "Royal", "Bright", "Green",
    "Twin Peaks", "Bayshore",
)
COMPANY_SUFFIXES = ("Inc.", "LLC", "Co.", "Ltd.", "& Sons", "Group", "Partners", "")
STREETS = (
    "Ocean View Road", "Court St.", "Main St.", "Easy St.", "Cypress Hill Ave.", "Finch St.", "Boise Ave",
    "Elm St.", "Market St.", "Park Ave", "Lake Dr.", "Hillcrest Rd.", "Sunset Blvd.", "Broadway",
    "Mission St.", "Oak Lane", "Pine St.", "Cedar Ct.", "Harbor Way", "Valley Rd.",
)
CITIES = (
    ("Middlefield", "CA", "94303"), ("Bayshore", "CA", "94326"), ("Tucson", "AZ", "85719"),
    ("Half Moon Bay", "CA", "94213"), ("Palo Alto", "CA", "94301"), ("San Jose", "CA", "95112"),
    ("Sunnyvale", "CA", "94086"), ("Fremont", "CA", "94536"), ("Oakland", "CA", "94607"),
    ("Sacramento", "CA", "95814"), ("Portland", "OR", "97205"), ("Reno", "NV", "89501"),
)
# (DisplayName, GivenName, FamilyName, CompanyName, tax-exempt, has e-mail): the names finance users trip on
LONG_NAME = "Greater Bay Area Residential & Commercial Landscape Architecture, Irrigation & Hardscaping Co."
SPECIAL_CUSTOMERS: tuple[tuple[str, str | None, str | None, str | None, bool, bool], ...] = (
    ("Café Zürich GmbH", None, None, "Café Zürich GmbH", True, True),
    ("Søren Ærø", "Søren", "Ærø", None, False, False),
    ("Amy's Bird Sanctuary", "Amy", "Lauterbach", "Amy's Bird Sanctuary", False, True),
    ("Müller & Söhne KG", None, None, "Müller & Söhne KG", False, True),
    ("北京园林设计有限公司", None, None, "北京园林设计有限公司", False, False),
    (LONG_NAME, None, None, LONG_NAME, False, True),
    ("County of Santa Clara", None, None, "County of Santa Clara", True, True),
)
# Craig's Design and Landscaping's vendors, with what they mostly bill for (None: items from stock)
VENDORS = (
    ("Norton Lumber and Building Materials", None), ("Cal Telephone", "Utilities:Telephone"),
    ("PG&E", "Utilities:Gas and Electric"), ("Hicks Hardware", None), ("Books by Bessie", "Office Expenses"),
    ("Brosnahan Insurance Agency", "Insurance"), ("Chin's Gas and Oil", "Automobile"),
    ("Computers by Jenni", "Office Expenses"), ("Diego's Road Warrior Bodyshop", "Automobile"),
    ("Ellis Equipment Rental", "Repair & Maintenance"), ("Hall Properties", "Rent or Lease"),
    ("Lee Advertising", "Advertising"), ("Mahoney Mugs", "Supplies"),
    ("Robertson & Associates", "Legal & Professional Fees"), ("Squeaky Kleen Car Wash", "Automobile"),
    ("Sushi by Katsuyuki", "Meals and Entertainment"), ("Tania's Nursery", None),
    ("Tim Philip Masonry", None),
    ("Tony Rondonuwu", "Legal & Professional Fees"), ("United States Treasury", "Taxes & Licenses"),
    ("Met Life Dental", "Insurance"), ("National Eye Care", "Insurance"), ("Fidelity", "Bank Charges"),
    ("Pam Seitz", "Legal & Professional Fees"), ("EDD", "Taxes & Licenses"),
)
SUPPLY_TRADES = ("Supply", "Wholesale", "Materials", "Equipment Rental", "Services", "Hardware", "Nursery")
NOTES = ("Customer asked for itemized copy", "Updated per phone call", "Corrected quantity", "PO on file")
REFUND_NOTES = ("Returned merchandise", "Refund for cancelled service", "Damaged on delivery", "Overcharged")
VENDOR_CREDIT_NOTES = ("Returned damaged stock", "Credit for overbilling", "Short shipment", "Rebate")
JOURNALS = (  # (memo, debit accounts, credit account)
    ("Monthly depreciation", ("Depreciation",), ("Accumulated Depreciation",)),
    ("Payroll accrual", ("Payroll Expenses",), ("Payroll Liabilities",)),
    ("Prepaid insurance amortization", ("Insurance",), ("Prepaid Expenses",)),
    ("Owner contribution", ("Checking",), ("Owner's Investment",)),
    ("Owner draw", ("Owner's Draw",), ("Checking",)),
    ("Loan repayment", ("Loan Payable", "Bank Charges"), ("Checking",)),
)
# fmt: on


# values ------------------------------------------------------------------------------------------
def _table(values: Sequence[Any], weights: Sequence[int]) -> tuple[Any, ...]:
    """A weighted choice as a lookup table: one `random()` per draw in the hot loops."""
    return tuple(value for value, weight in zip(values, weights, strict=True) for _ in range(weight))


def _draw(rng: random.Random, table: Sequence[Any]) -> Any:
    return table[int(rng.random() * len(table))]


def wire(cents: int) -> int | float:
    """Cents as QBO writes an amount: `money` of the same value, without going through Decimal."""
    return cents // 100 if cents % 100 == 0 else cents / 100


def _ref(value: int | str, name: str | None = None) -> Ref:
    return {"value": str(value), "name": name} if name is not None else {"value": str(value)}


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())[:24]


def _phone(rng: random.Random) -> dict[str, str]:
    return {"FreeFormNumber": f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}"}


# time ---------------------------------------------------------------------------------------------
class Clock:
    """Company-local days 0..last (last = anchor) as epoch seconds: every timestamp is made here."""

    def __init__(self, anchor: date, tz: str, history_days: int = HISTORY_DAYS) -> None:
        zone = ZoneInfo(tz)
        self.first = anchor - timedelta(days=history_days)
        self.last = history_days
        self._midnight = [
            int(datetime.combine(self.first + timedelta(days=d), time(), zone).timestamp())
            for d in range(history_days + 2)
        ]
        self._iso = [(self.first + timedelta(days=d)).isoformat() for d in range(history_days + 121)]
        self.end = self._midnight[-1] - 1  # the anchor's last second: nothing happens later
        self.format = lru_cache(maxsize=1 << 16)(partial(format_meta, tz=tz))

    def at(self, day: int, seconds: int) -> int:
        return self._midnight[day] + seconds

    def business(self, rng: random.Random, day: int) -> int:
        """A moment in office hours: people enter transactions between 8:00 and 18:00."""
        return self._midnight[day] + rng.randint(8 * HOUR, 18 * HOUR)

    def day_of(self, ts: int) -> int:
        return bisect.bisect_right(self._midnight, ts) - 1

    def iso(self, day: int) -> str:
        return self._iso[day] if day < len(self._iso) else (self.first + timedelta(days=day)).isoformat()

    def date(self, day: int) -> date:
        return self.first + timedelta(days=day)

    def meta(self, ct: int, lut: int) -> dict[str, str]:
        return {"CreateTime": self.format(ct), "LastUpdatedTime": self.format(lut)}

    def later(
        self, rng: random.Random, start: int, chance: float, most: int = 2, stop: int | None = None
    ) -> list[int]:
        """Edit times after `start` (no later than `stop`): most records are never touched again."""
        stop = self.end if stop is None else stop
        if stop <= start + 60 or rng.random() >= chance:
            return []
        return sorted(rng.randint(start + 60, stop) for _ in range(rng.randint(1, most)))

    def daily_counts(self, total: int, first_day: int = 1, days: Iterable[int] | None = None) -> list[int]:
        """Spread exactly `total` documents over days: business grows over the years, weekends are quiet."""
        counts = [0] * (self.last + 1)
        chosen = list(range(first_day, self.last + 1)) if days is None else list(days)
        if not chosen or total <= 0:
            return counts
        weights = [
            (0.6 + 0.8 * d / self.last) * (1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.15)[self.date(d).weekday()]
            for d in chosen
        ]
        scale, running, placed = total / sum(weights), 0.0, 0
        for day, weight in zip(chosen, weights, strict=True):
            running += weight * scale
            upto = min(total, round(running))
            counts[day] = upto - placed
            placed = upto
        counts[chosen[-1]] += total - placed
        return counts


# the company's records as transactions see them ---------------------------------------------------
@dataclass(slots=True)
class Term:
    ref: Ref
    days: int


@dataclass(slots=True)
class Party:
    """A customer or vendor: what its transactions need, and its open balance (cents)."""

    id: int
    ref: Ref
    doc: Doc
    ct: int
    lut: int
    since: int  # first day it may appear on a transaction (the day after it was created)
    until: int  # last such day: deactivated parties stop two days before their deactivation
    term: Term
    taxable: bool = True
    bill_addr: dict[str, str] | None = None
    ship_addr: dict[str, str] | None = None
    email: dict[str, str] | None = None
    parent: Party | None = None
    expense_account: str | None = None  # vendors: what they bill for (None: items from stock)
    balance: int = 0


@dataclass(slots=True)
class Item:
    id: int
    ref: Ref
    type: str
    price: int
    cost: int
    taxable: bool
    description: str
    since: int
    until: int
    qty: int = 0  # QtyOnHand (inventory)


@dataclass(slots=True)
class Worker:
    id: int
    ref: Ref
    rate: int
    since: int
    until: int


class Pool:
    """The members that may appear on a transaction dated `day`: created before it, not yet retired."""

    def __init__(self, members: Sequence[Any], skew: float = 1.0) -> None:
        self.members = sorted(members, key=lambda m: m.since)
        self.since = [m.since for m in self.members]
        self.skew = skew

    def __bool__(self) -> bool:
        return bool(self.members)

    def pick(self, rng: random.Random, day: int) -> Any:
        n = bisect.bisect_right(self.since, day)
        if n == 0:
            raise ValueError(f"nothing exists yet on day {day}")
        for _ in range(8):
            member = self.members[int(n * rng.random() ** self.skew)]
            if member.until >= day:
                return member
        return next(m for m in self.members[:n] if m.until >= day)


class Sticky:
    """Picks from a pool, often going back to someone picked lately: customers buy (and vendors deliver)
    in bursts, which is what lets one payment settle several documents."""

    def __init__(self, pool: Pool, share: float, memory: int = 6) -> None:
        self.pool = pool
        self.share = share
        self.recent: deque[Any] = deque(maxlen=memory)

    def pick(self, rng: random.Random, day: int) -> Any:
        if self.recent and rng.random() < self.share:
            member = self.recent[int(len(self.recent) * rng.random())]
            if member.until >= day:
                return member
        member = self.pool.pick(rng, day)
        self.recent.append(member)
        return member


@dataclass(slots=True)
class Tax:
    code: str
    rate_id: str
    percent: Decimal
    basis_points: int
    wire_percent: int | float


# the generation context ---------------------------------------------------------------------------
class Context:
    """One company in the making: clock, id sequences, taken names, the records made so far."""

    def __init__(
        self,
        store: Store,
        realm: Realm,
        profile: Profile,
        seed: int,
        anchor: date,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.store = store
        self.realm = realm
        self.profile = profile
        self.seed = seed
        self.clock = Clock(anchor, realm.tz)
        self.progress = progress or (lambda _message: None)
        self.counts: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.taken: dict[str, set[str]] = {}
        self.accounts: dict[str, tuple[int, Ref, str]] = {}  # FullyQualifiedName -> (id, ref, AccountType)
        self.terms: list[Term] = []
        self.methods: list[Ref] = []
        self.method_table: tuple[Ref, ...] = ()
        self.tax = Tax(
            SALES_TAX_CODE, "2", TAX_RATES[1][1], int(TAX_RATES[1][1] * 100), money(TAX_RATES[1][1])
        )
        self.customers: list[Party] = []
        self.vendors: list[Party] = []
        self.items: list[Item] = []
        self.employees: list[Worker] = []
        self.classes: list[Ref] = []
        self.departments: list[Ref] = []
        self.customer_types: list[Ref] = []
        self.undeposited = 0  # cents received into Undeposited Funds
        self.customer_pool = self.vendor_pool = self.item_pool = Pool([])
        self.stock_pool = self.service_pool = self.employee_pool = Pool([])
        self.setup_ts = self.clock.at(0, 9 * HOUR)  # the company (and its default lists) came to be

    def rng(self, stream: str) -> random.Random:
        """An independent stream per concern, so one part's changes leave the others' data alone."""
        return random.Random(f"{self.seed}:{stream}")

    def take_ids(self, entity: str, n: int = 1) -> int:
        first = self.ids.get(entity, 1)
        self.ids[entity] = first + n
        return first

    def claim(self, namespace: str, name: str) -> bool:
        """Reserve a name in its uniqueness namespace (case-insensitive, as QBO); False if taken."""
        taken = self.taken.setdefault(namespace, set())
        key = name.casefold()
        if key in taken:
            return False
        taken.add(key)
        return True

    def head(self, id_: int, ct: int, lut: int, sync: int = 0) -> Doc:
        return {
            "domain": "QBO",
            "sparse": False,
            "Id": str(id_),
            "SyncToken": str(sync),
            "MetaData": self.clock.meta(ct, lut),
        }

    def account(self, name: str) -> Ref:
        return self.accounts[name][1]

    def write(self, entity: str, docs: Iterable[tuple[Doc, int, int]]) -> None:
        """Store (doc, create, last update) triples in one transaction and claim their unique names.

        Documents are serialised as they come, so a chunk holds strings rather than nested dicts."""
        has_active = ENTITIES[entity].has_active
        named = _name_key(entity, {})[0] is not None
        names: list[tuple[str, str, int]] = []
        rows = []
        for doc, ct, lut in docs:
            id_ = int(doc["Id"])
            rows.append(
                (id_, float(lut), float(ct), doc.get("Active", True) if has_active else None, dumps(doc))
            )
            if named:
                namespace, name = _name_key(entity, doc)
                if namespace and name:
                    names.append((namespace, name, id_))
        if not rows:
            return
        realm_id = self.realm.realm_id
        self.store.bulk_put(realm_id, entity, rows)
        self.counts[entity] = self.counts.get(entity, 0) + len(rows)
        if names:
            with self.store.transaction():
                for namespace, name, id_ in names:
                    self.store.claim_name(realm_id, namespace, name, entity, id_)


def _stamp(ct: int, events: Iterable[int]) -> tuple[int, int]:
    """(LastUpdatedTime, SyncToken) after the given edits: each one bumps the token."""
    times = [t for t in events if t > ct]
    return (max(times, default=ct), len(times))


# company, settings and default lists ----------------------------------------------------------------
def _company(ctx: Context) -> None:
    rng, clock = ctx.rng("company"), ctx.clock
    trade = rng.choice(("Design and Landscaping", "Gardens", "Outdoor Living"))
    name = f"{rng.choice(ADJECTIVES)} {trade} Services"
    city, state, postal = rng.choice(CITIES)
    addr = {
        "Id": "1",
        "Line1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}",
        "City": city,
        "Country": "US",
        "CountrySubDivisionCode": state,
        "PostalCode": postal,
    }
    email = {"Address": f"noreply+{_slug(name)}@example.com"}
    lut, sync = _stamp(ctx.setup_ts, clock.later(rng, ctx.setup_ts, 1.0, 2))
    info = {
        "CompanyName": name,
        "LegalName": f"{name} LLC",
        "CompanyAddr": addr,
        "CustomerCommunicationAddr": addr,
        "LegalAddr": addr,
        "PrimaryPhone": _phone(rng),
        "CompanyStartDate": clock.iso(0),
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": email,
        "WebAddr": {"URI": f"https://www.{_slug(name)}.example.com"},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": k, "Value": v}
            for k, v in (
                ("NeoEnabled", "true"),
                ("IndustryType", "Landscaping Services"),
                ("CompanyType", "LLC"),
                ("SubscriptionStatus", "SUBSCRIBED"),
                ("OfferingSku", "QuickBooks Online Plus"),
                ("PayrollFeature", "false"),
                ("AccountantFeature", "false"),
                ("IsQbdtMigrated", "false"),
            )
        ],
        **ctx.head(1, ctx.setup_ts, lut, sync),
    }
    ctx.write("CompanyInfo", [(info, ctx.setup_ts, lut)])
    lut, sync = _stamp(ctx.setup_ts, clock.later(rng, ctx.setup_ts, 1.0, 3))
    prefs = {
        "AccountingInfoPrefs": {
            "TrackDepartments": bool(ctx.profile.departments),
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxn": bool(ctx.profile.classes),
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
            "FirstMonthOfFiscalYear": "January",
            "TaxYearMonth": "January",
            "UseAccountNumbers": False,
            "TaxForm": "6",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": False,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "DefaultDiscountAccount": str(ctx.accounts["Discounts given"][0]),
            "AllowEstimates": True,
            "ETransactionEnabledStatus": "NotApplicable",
            "AllowServiceDate": False,
            "AllowShipping": False,
            "DefaultTerms": _ref(3),
            "DefaultCustomerMessage": MEMO,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "UsingPriceLevels": False,
            "UsingProgressInvoicing": False,
            "IPNSupportEnabled": False,
            "EstimateMessage": "Please review the estimate below.",
        },
        "EmailMessagesPrefs": {
            "InvoiceMessage": {"Subject": f"Invoice from {name}", "Message": "Your invoice is attached."}
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
            "DefaultTerms": _ref(3),
            "DefaultMarkup": 0,
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": {
            "UsingSalesTax": True,
            "PartnerTaxEnabled": True,
            "TaxGroupCodeRef": _ref(SALES_TAX_CODE),
        },
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {"NameValue": [{"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": MEMO}]},
        **ctx.head(1, ctx.setup_ts, lut, sync),
    }
    ctx.write("Preferences", [(prefs, ctx.setup_ts, lut)])


def _plan_accounts(ctx: Context) -> None:
    """Ids and refs for the chart; the documents come last, once their balances are known."""
    for id_, (name, account_type, _sub, parent, _active) in enumerate(CHART, start=1):
        fqn = f"{parent}:{name}" if parent else name
        ctx.claim("Account", fqn)
        ctx.accounts[fqn] = (id_, _ref(id_, fqn), account_type)
    ctx.ids["Account"] = len(CHART) + 1


def _write_accounts(ctx: Context) -> None:
    rng, clock = ctx.rng("accounts"), ctx.clock
    busy = ctx.profile.invoices > 0
    exact = {
        "Accounts Receivable (A/R)": sum(c.balance for c in ctx.customers),
        "Accounts Payable (A/P)": sum(v.balance for v in ctx.vendors),
        "Undeposited Funds": ctx.undeposited,
        "Inventory Asset": sum(i.cost * i.qty for i in ctx.items),
    }
    balances: dict[str, int] = {}
    for name, account_type, _sub, parent, _active in CHART:
        fqn = f"{parent}:{name}" if parent else name
        if fqn in exact:
            balances[fqn] = exact[fqn]
        elif CLASSIFICATION[account_type] in ("Revenue", "Expense") or not busy:
            balances[fqn] = 0  # QBO reports no running balance on P&L accounts
        else:
            balances[fqn] = rng.randint(1_000, 90_000) * 100
    docs = []
    for name, account_type, sub_type, parent, active in CHART:
        fqn = f"{parent}:{name}" if parent else name
        id_ = ctx.accounts[fqn][0]
        with_subs = balances[fqn] + sum(v for k, v in balances.items() if k.startswith(f"{fqn}:"))
        events = [] if active else [clock.business(rng, rng.randint(30, clock.last // 2))]
        lut, sync = _stamp(ctx.setup_ts, events)
        doc: Doc = {"Name": name, "SubAccount": parent is not None}
        if parent:
            doc["ParentRef"] = _ref(ctx.accounts[parent][0])
        doc |= {
            "FullyQualifiedName": fqn,
            "Active": active,
            "Classification": CLASSIFICATION[account_type],
            "AccountType": account_type,
            "AccountSubType": sub_type,
            "CurrentBalance": wire(balances[fqn]),
            "CurrentBalanceWithSubAccounts": wire(with_subs),
            "CurrencyRef": USD,
            **ctx.head(id_, ctx.setup_ts, lut, sync),
        }
        docs.append((doc, ctx.setup_ts, lut))
    ctx.write("Account", docs)


def _simple_list(ctx: Context, entity: str, rows: Sequence[Doc], *, ct: int | None = None) -> list[Ref]:
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
        refs.append(_ref(id_, name))
    ctx.write(entity, docs)
    return refs


def _settings_lists(ctx: Context) -> None:
    terms = [{"Name": n, "Active": True, "Type": "STANDARD", "DueDays": d} for n, d in TERMS]
    ctx.terms = [Term(ref, d) for ref, (_n, d) in zip(_simple_list(ctx, "Term", terms), TERMS, strict=True)]
    methods = [{"Name": n, "Active": True, "Type": t} for n, t in PAYMENT_METHODS]
    ctx.methods = _simple_list(ctx, "PaymentMethod", methods)
    ctx.method_table = _table(ctx.methods, PAYMENT_METHOD_WEIGHTS)
    agency = {"DisplayName": TAX_AGENCY, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": False}
    (agency_ref,) = _simple_list(ctx, "TaxAgency", [agency])
    effective = ctx.clock.format(ctx.clock.at(0, 0))
    rates = [
        {
            "Name": n,
            "Description": "Sales Tax",
            "Active": True,
            "RateValue": money(v),
            "AgencyRef": _ref(agency_ref["value"]),
            "SpecialTaxType": "NONE",
            "DisplayType": "ReadOnly",
            "EffectiveTaxRate": [{"RateValue": money(v), "EffectiveDate": effective}],
        }
        for n, v in TAX_RATES
    ]
    rate_refs = _simple_list(ctx, "TaxRate", rates)
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
    code_refs = _simple_list(ctx, "TaxCode", codes)
    if code_refs[1]["value"] != SALES_TAX_CODE or rate_refs[1]["value"] != ctx.tax.rate_id:
        raise AssertionError("the sales tax code must be TaxCode 2 on the second TaxRate")


def _tracking_lists(ctx: Context) -> None:
    """Classes (one with a sub-class), departments (locations) and customer types."""
    p = ctx.profile
    at = ctx.clock.at(0, 10 * HOUR)
    if p.customer_types:
        types = [{"Name": n, "Active": True} for n in CUSTOMER_TYPES[: p.customer_types]]
        ctx.customer_types = _simple_list(ctx, "CustomerType", types, ct=at)
    if p.classes:
        rows: list[Doc] = [
            {"Name": n, "SubClass": False, "FullyQualifiedName": n, "Active": True}
            for n in CLASSES[: p.classes]
        ]
        ctx.classes = _simple_list(ctx, "Class", rows, ct=at)
        parent = ctx.classes[1] if len(ctx.classes) > 1 else ctx.classes[0]
        child = {
            "Name": "Commercial",
            "SubClass": True,
            "ParentRef": _ref(parent["value"], parent["name"]),
            "FullyQualifiedName": f"{parent['name']}:Commercial",
            "Active": True,
        }
        ctx.classes += _simple_list(ctx, "Class", [child], ct=at + HOUR)
    if p.departments:
        rows = [
            {"Name": n, "SubDepartment": False, "FullyQualifiedName": n, "Active": True}
            for n in DEPARTMENTS[: p.departments]
        ]
        ctx.departments = _simple_list(ctx, "Department", rows, ct=at)


# masters ----------------------------------------------------------------------------------------
def _creation_times(ctx: Context, rng: random.Random, n: int, imported: float, import_ts: int) -> list[int]:
    """The first share arrive in one import (one second, a tie); the rest join over the years."""
    clock = ctx.clock
    count = max(1, int(n * imported)) if n else 0
    later = sorted(clock.business(rng, rng.randint(1, max(1, clock.last - 60))) for _ in range(n - count))
    return [import_ts] * count + later


def _address(ctx: Context, rng: random.Random) -> dict[str, str]:
    city, state, postal = rng.choice(CITIES)
    return {
        "Id": str(ctx.take_ids("PhysicalAddress")),
        "Line1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        "City": city,
        "CountrySubDivisionCode": state,
        "PostalCode": postal,
    }


def _person_or_company(ctx: Context, rng: random.Random, trades: Sequence[str] = TRADES) -> tuple[str, ...]:
    """(DisplayName, GivenName, FamilyName, CompanyName) with a DisplayName free in the party namespace."""
    for attempt in range(200):
        roll = rng.random()
        given, family = rng.choice(FIRST), rng.choice(LAST)
        if roll < 0.35:
            display, company = f"{given} {family}", ""
        elif roll < 0.7:
            display = company = f"{family} {rng.choice(trades)}"
        else:
            display = company = (
                f"{rng.choice(ADJECTIVES)} {rng.choice(trades)} {rng.choice(COMPANY_SUFFIXES)}".strip()
            )
        if attempt > 100:  # a crowded namespace: people add a number, as in QBO
            display = f"{display} {attempt}"
            company = display if company else ""
        if ctx.claim("party", display):
            return display, given, family, company
    raise RuntimeError("ran out of party names")


@dataclass(slots=True)
class Draft:
    """A customer before ids are handed out in creation order."""

    name: tuple[str, ...]  # DisplayName, GivenName, FamilyName, CompanyName
    exempt: bool
    has_email: bool
    ct: int
    parent: Draft | None = None
    id: int = 0
    off: int | None = None  # the day it is made inactive


def _customers(ctx: Context) -> None:
    p = ctx.profile
    if not p.customers:
        return
    rng, clock = ctx.rng("customers"), ctx.clock
    people: list[tuple[tuple[str, ...], bool, bool]] = []  # (name, tax-exempt, has e-mail)
    specials = SPECIAL_CUSTOMERS[: p.customers] if p.edge_cases else ()
    for display, given, family, company, exempt, has_email in specials:
        ctx.claim("party", display)
        people.append(((display, given or "", family or "", company or ""), exempt, has_email))
    while len(people) < p.customers:
        people.append((_person_or_company(ctx, rng), rng.random() < 0.12, rng.random() < 0.8))
    rng.shuffle(people)  # the special names land anywhere in the list, not just first
    cts = _creation_times(ctx, rng, p.customers, 0.4, clock.at(0, 10 * HOUR + 15 * 60))
    drafts = [Draft(name, exempt, mail, ct) for (name, exempt, mail), ct in zip(people, cts, strict=True)]
    drafts += [_job(ctx, rng, drafts[int(p.customers * rng.random() ** 1.5)]) for _ in range(p.jobs)]
    drafts.sort(key=lambda d: d.ct)
    for id_, draft in enumerate(drafts, start=ctx.take_ids("Customer", len(drafts))):
        draft.id = id_
    parents = {id(d.parent) for d in drafts if d.parent is not None}
    eligible = [d for d in drafts[1:] if id(d) not in parents and clock.day_of(d.ct) < clock.last - 45]
    for draft in rng.sample(eligible, min(p.inactive_customers, len(eligible))):
        draft.off = rng.randint(clock.day_of(draft.ct) + 30, clock.last - 3)
    parties: dict[int, Party] = {}
    for draft in drafts:
        parties[draft.id] = _customer(ctx, rng, draft, parties[draft.parent.id] if draft.parent else None)
        ctx.customers.append(parties[draft.id])


def _job(ctx: Context, rng: random.Random, parent: Draft) -> Draft:
    """A sub-customer: a project at an address, started a while after its customer."""
    clock = ctx.clock
    day = min(clock.last - 20, clock.day_of(parent.ct) + rng.randint(1, 400))
    street = f"{rng.randint(100, 9999):04d} {rng.choice(STREETS)}"
    while not ctx.claim("party", street):
        street = f"{rng.randint(100, 9999):04d} {rng.choice(STREETS)}"
    ct = max(clock.business(rng, day), parent.ct + 60)
    return Draft((street, "", "", ""), parent.exempt, parent.has_email, ct, parent)


def _customer(ctx: Context, rng: random.Random, draft: Draft, parent: Party | None) -> Party:
    clock = ctx.clock
    display, given, family, company = draft.name
    exempt, has_email, ct, off = draft.exempt, draft.has_email, draft.ct, draft.off
    off_ts = clock.business(rng, off) if off is not None else None
    stop = off_ts - 60 if off_ts else clock.end
    batch = clock.at(clock.last - 200, 14 * HOUR)  # "update terms" batch edit: one second, many customers
    events = clock.later(rng, ct, 0.2, 2, stop) + (
        [batch] if ct < batch < stop and rng.random() < 0.3 else []
    )
    lut, sync = _stamp(ct, [*events, *([off_ts] if off_ts else [])])
    term = parent.term if parent else rng.choices(ctx.terms, TERM_WEIGHTS)[0]
    bill = parent.bill_addr if parent else _address(ctx, rng)
    ship = bill if parent or rng.random() < 0.7 else _address(ctx, rng)
    email = {"Address": f"{_slug(display) or 'customer'}{draft.id}@example.com"} if has_email else None
    suffix = DELETED_SUFFIX if off is not None else ""
    fqn = f"{parent.doc['FullyQualifiedName']}:{display}" if parent else display
    delivery = "Email" if email and rng.random() < 0.6 else "Print"
    doc: Doc = {"Taxable": not exempt, "BillAddr": bill, "ShipAddr": ship}
    if rng.random() < 0.1:
        doc["Notes"] = rng.choice(NOTES)
    doc |= {"Job": parent is not None, "BillWithParent": bool(parent) and rng.random() < 0.5}
    if parent:
        doc |= {"ParentRef": _ref(parent.id), "Level": 1}
    doc |= {
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": USD,
        "PreferredDeliveryMethod": delivery,
        "SalesTermRef": term.ref,
    }
    if ctx.customer_types and rng.random() < 0.7:
        doc["CustomerTypeRef"] = rng.choice(ctx.customer_types)
    doc |= ctx.head(draft.id, ct, lut, sync)
    if given and (not company or rng.random() < 0.6):
        doc |= {"GivenName": given, "FamilyName": family}
    doc["FullyQualifiedName"] = fqn + suffix
    if company:
        doc["CompanyName"] = company
    doc |= {"DisplayName": display + suffix, "PrintOnCheckName": display, "Active": off is None}
    if rng.random() < 0.9:
        doc["PrimaryPhone"] = _phone(rng)
    if email:
        doc["PrimaryEmailAddr"] = email
    if exempt:
        doc["TaxExemptionReasonId"] = rng.choice(("1", "2", "4", "5"))
    else:
        doc["DefaultTaxCodeRef"] = _ref(SALES_TAX_CODE)
    return Party(
        id=draft.id,
        ref=_ref(draft.id, doc["DisplayName"]),
        doc=doc,
        ct=ct,
        lut=lut,
        since=clock.day_of(ct) + 1,
        until=off - 2 if off is not None else clock.last,
        term=term,
        taxable=not exempt,
        bill_addr=bill,
        ship_addr=ship,
        email=email,
        parent=parent,
    )


def _vendors(ctx: Context) -> None:
    p = ctx.profile
    if not p.vendors:
        return
    rng, clock = ctx.rng("vendors"), ctx.clock
    cts = _creation_times(ctx, rng, p.vendors, 0.5, clock.at(0, 10 * HOUR + 30 * 60))
    first = ctx.take_ids("Vendor", p.vendors)
    retired = (
        set(rng.sample(range(1, p.vendors), min(p.inactive_vendors, p.vendors - 1)))
        if p.vendors > 1
        else set()
    )
    for n, ct in enumerate(cts):
        if n < len(VENDORS) and ctx.claim("party", VENDORS[n][0]):
            display, account = VENDORS[n]
            name: tuple[str, ...] = (display, "", "", display)
        else:
            name = _person_or_company(ctx, rng, SUPPLY_TRADES)
            account = None if rng.random() < 0.35 else rng.choice(EXPENSE_ACCOUNTS)
        off = None
        if n in retired and clock.day_of(ct) < clock.last - 45:
            off = rng.randint(clock.day_of(ct) + 30, clock.last - 3)
        ctx.vendors.append(_vendor(ctx, rng, first + n, ct, off, name, account))


def _vendor(
    ctx: Context,
    rng: random.Random,
    id_: int,
    ct: int,
    off: int | None,
    name: tuple[str, ...],
    account: str | None,
) -> Party:
    clock = ctx.clock
    display, given, family, company = name
    off_ts = clock.business(rng, off) if off is not None else None
    lut, sync = _stamp(
        ct, [*clock.later(rng, ct, 0.2, 2, (off_ts or clock.end) - 60), *([off_ts] if off_ts else [])]
    )
    term = rng.choices(ctx.terms, VENDOR_TERM_WEIGHTS)[0]
    suffix = DELETED_SUFFIX if off is not None else ""
    addr = _address(ctx, rng)
    doc: Doc = {
        "BillAddr": addr,
        "Balance": 0,
        "Vendor1099": account == "Legal & Professional Fees",
        "CurrencyRef": USD,
        "TermRef": term.ref,
        **ctx.head(id_, ct, lut, sync),
    }
    if company:
        doc["CompanyName"] = company
    else:
        doc |= {"GivenName": given, "FamilyName": family}
    doc |= {"DisplayName": display + suffix, "PrintOnCheckName": display, "Active": off is None}
    if rng.random() < 0.85:
        doc["PrimaryPhone"] = _phone(rng)
    if rng.random() < 0.7:
        doc["PrimaryEmailAddr"] = {"Address": f"{_slug(display) or 'vendor'}{id_}@example.com"}
    if rng.random() < 0.4:
        doc["AcctNum"] = str(rng.randint(10_000, 99_999))
    return Party(
        id=id_,
        ref=_ref(id_, doc["DisplayName"]),
        doc=doc,
        ct=ct,
        lut=lut,
        since=clock.day_of(ct) + 1,
        until=off - 2 if off is not None else clock.last,
        term=term,
        bill_addr=addr,
        expense_account=account,
    )


def _catalog(p: Profile) -> list[tuple[str, str, int, int, bool, str]]:
    """(Name, Type, price, cost, taxable, description) for the profile's item counts, with variants."""
    rows: list[tuple[str, str, int, int, bool, str]] = []
    for kind, base, count in (
        ("Service", SERVICES, p.services),
        ("Inventory", INVENTORY, p.inventory),
        ("NonInventory", NON_INVENTORY, p.non_inventory),
    ):
        for n in range(count):
            name, price, cost, taxable, desc = base[n % len(base)]
            if n >= len(base):
                variant = VARIANTS[(n // len(base) - 1) % len(VARIANTS)]
                round_ = (n // len(base) - 1) // len(VARIANTS)
                name = f"{name} - {variant}" + (f" {round_ + 1}" if round_ else "")
                price, cost = (
                    price * (100 + 10 * (n // len(base))) // 100,
                    cost * (100 + 10 * (n // len(base))) // 100,
                )
            rows.append((name, kind, price, cost, taxable, desc))
    return rows


def _items(ctx: Context) -> None:
    p = ctx.profile
    rows = _catalog(p)
    if not rows:
        return
    rng, clock = ctx.rng("items"), ctx.clock
    cts = _creation_times(ctx, rng, len(rows), 0.8, clock.at(0, 9 * HOUR + 40 * 60))
    batch = clock.at(clock.last - 100, 9 * HOUR)  # a price-list update: one second, half the items
    retired = len(rows) - 1 if p.edge_cases else -1
    docs = []
    first = ctx.take_ids("Item", len(rows))
    for n, (row, ct) in enumerate(zip(rows, cts, strict=True)):
        off = rng.randint(clock.day_of(ct) + 30, clock.last - 10) if n == retired else None
        doc, item = _item(ctx, rng, first + n, ct, row, off, batch)
        docs.append(doc)
        ctx.items.append(item)
    if p.item_category:
        docs += _category(ctx)
    ctx.write("Item", docs)


def _item_doc(
    ctx: Context, id_: int, name: str, kind: str, price: int, cost: int, taxable: bool, desc: str, fqn: str
) -> Doc:
    doc: Doc = {"Name": name}
    if desc:
        doc["Description"] = desc
    doc |= {
        "Active": True,
        "FullyQualifiedName": fqn,
        "Taxable": taxable,
        "UnitPrice": wire(price),
        "Type": kind,
    }
    income = {
        "Service": "Services",
        "Inventory": "Sales of Product Income",
        "NonInventory": "Sales of Product Income",
    }
    if kind == "Service" and name in ("Design", "Consulting"):
        doc["IncomeAccountRef"] = ctx.account("Design income")
    elif kind == "Service" and id_ % 2:
        doc["IncomeAccountRef"] = ctx.account("Landscaping Services")
    else:
        doc["IncomeAccountRef"] = ctx.account(income[kind])
    if kind != "Service":
        doc["PurchaseDesc"] = desc or name
    doc["PurchaseCost"] = wire(cost)
    if kind == "Inventory":
        doc |= {
            "ExpenseAccountRef": ctx.account("Cost of Goods Sold"),
            "AssetAccountRef": ctx.account("Inventory Asset"),
        }
    elif kind == "NonInventory":
        doc["ExpenseAccountRef"] = ctx.account("Supplies")
    doc["TrackQtyOnHand"] = kind == "Inventory"
    return doc


def _item(
    ctx: Context,
    rng: random.Random,
    id_: int,
    ct: int,
    row: tuple[str, str, int, int, bool, str],
    off: int | None,
    batch: int,
) -> tuple[tuple[Doc, int, int], Item]:
    clock = ctx.clock
    name, kind, price, cost, taxable, desc = row
    if not ctx.claim("Item", name):
        raise ValueError(f"duplicate item name {name!r}")
    off_ts = clock.business(rng, off) if off is not None else None
    events = clock.later(rng, ct, 0.15, 2, (off_ts or clock.end) - 60)
    events += [batch] if ct < batch < (off_ts or clock.end) and rng.random() < 0.5 else []
    lut, sync = _stamp(ct, [*events, *([off_ts] if off_ts else [])])
    doc = _item_doc(ctx, id_, name, kind, price, cost, taxable, desc, name)
    if kind == "Inventory":
        doc |= {
            "QtyOnHand": rng.randint(0, 250),
            "InvStartDate": clock.iso(clock.day_of(ct)),
            "Sku": f"SKU-{id_:05d}",
        }
    if off is not None:
        doc |= {"Name": name + DELETED_SUFFIX, "FullyQualifiedName": name + DELETED_SUFFIX, "Active": False}
        ctx.claim("Item", name + DELETED_SUFFIX)
    doc |= ctx.head(id_, ct, lut, sync)
    until = off - 2 if off is not None else clock.last
    item = Item(
        id_,
        _ref(id_, doc["FullyQualifiedName"]),
        kind,
        price,
        cost,
        taxable,
        desc,
        clock.day_of(ct) + 1,
        until,
        doc.get("QtyOnHand", 0),
    )
    return (doc, ct, lut), item


def _category(ctx: Context) -> list[tuple[Doc, int, int]]:
    """A Category item and its sub-items: FullyQualifiedName "Parent:Child", Level 1, ParentRef."""
    clock = ctx.clock
    ct = clock.at(1, 11 * HOUR)
    name, children = CATEGORY
    cat_id = ctx.take_ids("Item", 1 + len(children))
    ctx.claim("Item", name)
    category: Doc = {
        "Name": name,
        "Active": True,
        "FullyQualifiedName": name,
        "Taxable": False,
        "UnitPrice": 0,
        "Type": "Category",
        "PurchaseCost": 0,
        "TrackQtyOnHand": False,
        **ctx.head(cat_id, ct, ct),
    }
    docs = [(category, ct, ct)]
    for n, (child, price, cost) in enumerate(children, start=1):
        fqn = f"{name}:{child}"
        ctx.claim("Item", fqn)
        doc = _item_doc(ctx, cat_id + n, child, "NonInventory", price, cost, True, "", fqn)
        doc = {
            **doc,
            "SubItem": True,
            "ParentRef": _ref(cat_id, name),
            "Level": 1,
            **ctx.head(cat_id + n, ct, ct),
        }
        docs.append((doc, ct, ct))
        ctx.items.append(
            Item(
                cat_id + n,
                _ref(cat_id + n, fqn),
                "NonInventory",
                price,
                cost,
                True,
                "",
                clock.day_of(ct) + 1,
                clock.last,
            )
        )
    return docs


def _employees(ctx: Context) -> None:
    p = ctx.profile
    if not p.employees:
        return
    rng, clock = ctx.rng("employees"), ctx.clock
    cts = _creation_times(ctx, rng, p.employees, 0.5, clock.at(0, 11 * HOUR))
    first = ctx.take_ids("Employee", p.employees)
    docs = []
    for n, ct in enumerate(cts):
        id_ = first + n
        given, family = (
            ("Zoë", "Ångström") if n == 1 and p.edge_cases else (rng.choice(FIRST), rng.choice(LAST))
        )
        display = f"{given} {family}"
        while not ctx.claim("party", display):
            given, family = rng.choice(FIRST), rng.choice(LAST)
            display = f"{given} {family}"
        off = (
            rng.randint(clock.day_of(ct) + 60, clock.last - 5)
            if n == p.employees - 1 and p.employees > 2
            else None
        )
        off_ts = clock.business(rng, off) if off is not None else None
        lut, sync = _stamp(
            ct, [*clock.later(rng, ct, 0.2, 1, (off_ts or clock.end) - 60), *([off_ts] if off_ts else [])]
        )
        rate = rng.choice((4500, 5000, 6000, 7500))
        doc: Doc = {
            "BillableTime": rng.random() < 0.7,
            "BillRate": wire(rate),
            "HiredDate": clock.iso(clock.day_of(ct)),
            "BirthDate": date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
        }
        if off is not None:
            doc["ReleasedDate"] = clock.iso(off)
        doc |= {
            **ctx.head(id_, ct, lut, sync),
            "GivenName": given,
            "FamilyName": family,
            "DisplayName": display + (DELETED_SUFFIX if off is not None else ""),
            "PrintOnCheckName": display,
            "Active": off is None,
            "PrimaryPhone": _phone(rng),
            "PrimaryEmailAddr": {"Address": f"{_slug(given)}.{_slug(family) or 'staff'}{id_}@example.com"},
            "PrimaryAddr": _address(ctx, rng),
            "EmployeeNumber": f"E{id_:03d}",
        }
        docs.append((doc, ct, lut))
        ctx.employees.append(
            Worker(
                id_,
                _ref(id_, doc["DisplayName"]),
                rate,
                clock.day_of(ct) + 1,
                off - 2 if off is not None else clock.last,
            )
        )
    ctx.write("Employee", docs)


def _write_parties(ctx: Context) -> None:
    """Customers and vendors go last: their Balance is the sum of what the transactions left open."""
    with_jobs = {c.id: c.balance for c in ctx.customers}
    for customer in ctx.customers:
        if customer.parent is not None:
            with_jobs[customer.parent.id] += customer.balance
    for customer in ctx.customers:
        customer.doc |= {"Balance": wire(customer.balance), "BalanceWithJobs": wire(with_jobs[customer.id])}
    for vendor in ctx.vendors:
        vendor.doc["Balance"] = wire(vendor.balance)
    for entity, parties in (("Customer", ctx.customers), ("Vendor", ctx.vendors)):
        for start in range(0, len(parties), ctx.profile.chunk):
            ctx.write(entity, [(p.doc, p.ct, p.lut) for p in parties[start : start + ctx.profile.chunk]])


# sales forms ------------------------------------------------------------------------------------
@dataclass(slots=True)
class SaleLine:
    item: Item
    qty: int | float
    price: int  # cents
    amount: int  # cents: Qty * UnitPrice rounded half-up, as the API rounds it
    describe: bool


@dataclass(slots=True)
class Sale:
    """A sales form's content before it is a document: who, when, what, and what it adds up to (cents)."""

    customer: Party
    day: int
    ct: int
    lines: list[SaleLine]
    discount_percent: int = 0
    discount_fixed: int = 0
    taxed: bool = False
    subtotal: int = 0
    discount: int = 0
    taxable: int = 0
    tax: int = 0
    total: int = 0
    class_ref: Ref | None = None
    department_ref: Ref | None = None
    id: int = 0
    from_estimate: bool = False  # invoices: converted from an estimate...
    estimate: Sale | None = None  # ... this one


SERVICE_QTY = (1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 1.5, 2.5, 3.5, 0.5)
SALE_LINE_COUNTS = _table((1, 2, 3, 4, 5), (30, 30, 20, 12, 8))
EXPENSE_LINE_COUNTS = _table((1, 2, 3, 4), (45, 30, 15, 10))
PURCHASE_KINDS = _table(("CreditCard", "Check", "Cash"), (6, 3, 1))


def plan_sale(ctx: Context, rng: random.Random, customer: Party, day: int, ct: int) -> Sale:
    """Lines, discount and tax for one sales form, totalled in integer cents."""
    lines = []
    for _ in range(_draw(rng, SALE_LINE_COUNTS)):
        item = ctx.item_pool.pick(rng, day)
        qty: int | float = rng.choice(SERVICE_QTY) if item.type == "Service" else rng.randint(1, 12)
        price = item.price
        if not price or rng.random() < 0.2:
            base = price or rng.randint(20, 150) * 100
            price = max(25, base * rng.randint(90, 125) // 100 // 25 * 25)
        amount = (int(qty * 2) * price + 1) // 2
        lines.append(SaleLine(item, qty, price, amount, rng.random() < 0.7))
    sale = Sale(customer, day, ct, lines)
    subtotal = sum(line.amount for line in lines)
    roll = rng.random()
    if roll < 0.06:
        sale.discount_percent = rng.choice((5, 10, 15))
    elif roll < 0.09 and subtotal >= 2000:
        sale.discount_fixed = rng.randint(1, subtotal // 1000) * 100
    sale.taxed = customer.taxable and any(line.item.taxable for line in lines)
    if ctx.classes and rng.random() < 0.5:
        sale.class_ref = rng.choice(ctx.classes)
    if ctx.departments and rng.random() < 0.4:
        sale.department_ref = rng.choice(ctx.departments)
    total_sale(sale, ctx.tax.basis_points)
    return sale


def total_sale(sale: Sale, basis_points: int) -> None:
    """What `sales_totals` computes, in cents: subtotal, discount, tax (half-up) and total."""
    sale.subtotal = sum(line.amount for line in sale.lines)
    sale.taxable = sum(line.amount for line in sale.lines if line.item.taxable)
    if sale.discount_percent:
        sale.discount = (sale.subtotal * sale.discount_percent + 50) // 100
    else:
        sale.discount = sale.discount_fixed
    sale.tax = (sale.taxable * basis_points + 5000) // 10000 if sale.taxed else 0
    sale.total = sale.subtotal - sale.discount + sale.tax


def sale_lines(ctx: Context, sale: Sale) -> list[Doc]:
    """The Line array a client would send (amounts included, as clients do; the API checks them)."""
    lines: list[Doc] = []
    for num, line in enumerate(sale.lines, start=1):
        item = line.item
        doc: Doc = {"Id": str(num), "LineNum": num}
        if line.describe and item.description:
            doc["Description"] = item.description
        doc |= {
            "Amount": wire(line.amount),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": item.ref,
                "UnitPrice": wire(line.price),
                "Qty": line.qty,
                "TaxCodeRef": {"value": "TAX" if item.taxable else "NON"},
            },
        }
        lines.append(doc)
    if sale.discount_percent or sale.discount_fixed:
        detail: Doc = {"PercentBased": bool(sale.discount_percent)}
        if sale.discount_percent:
            detail["DiscountPercent"] = sale.discount_percent
        detail["DiscountAccountRef"] = ctx.account("Discounts given")
        lines.append(
            {
                "Amount": wire(sale.discount_fixed),
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": detail,
            }
        )
    return lines


def apply_totals(ctx: Context, entity: str, doc: Doc, sale: Sale, fast: bool) -> None:
    """Fill Line, TxnTaxDetail and TotalAmt: through the API's arithmetic, or its integer twin."""
    if not fast:
        doc["Line"] = normalise_lines(entity, doc["Line"])
        tax = ctx.tax
        sales_totals(doc, tax.percent if sale.taxed else None, tax.rate_id if sale.taxed else None)
        if doc["TotalAmt"] != wire(sale.total):
            raise AssertionError(f"{entity} arithmetic drifted: {doc['TotalAmt']} != {wire(sale.total)}")
        return
    lines = doc["Line"]
    discount = lines.pop() if sale.discount_percent or sale.discount_fixed else None
    lines.append(
        {"Amount": wire(sale.subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    if discount is not None:
        discount["Amount"] = wire(sale.discount)
        lines.append(discount)
    if sale.taxed:
        detail = doc["TxnTaxDetail"]
        detail["TotalTax"] = wire(sale.tax)
        detail["TaxLine"] = [
            {
                "Amount": wire(sale.tax),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": ctx.tax.rate_id},
                    "PercentBased": True,
                    "TaxPercent": ctx.tax.wire_percent,
                    "NetAmountTaxable": wire(sale.taxable),
                },
            }
        ]
    else:
        doc["TxnTaxDetail"] = {"TotalTax": 0}
    doc["TotalAmt"] = wire(sale.total)


def _sale_party_fields(sale: Sale) -> Doc:
    customer = sale.customer
    fields: Doc = {"CustomerRef": customer.ref, "CustomerMemo": {"value": MEMO}}
    if customer.bill_addr:
        fields["BillAddr"] = customer.bill_addr
    if customer.ship_addr:
        fields["ShipAddr"] = customer.ship_addr
    return fields


def _sale_tail(sale: Sale, doc: Doc) -> None:
    if sale.customer.email:
        doc["BillEmail"] = sale.customer.email
    if sale.class_ref:
        doc["ClassRef"] = sale.class_ref
    if sale.department_ref:
        doc["DepartmentRef"] = sale.department_ref


def sales_doc(ctx: Context, entity: str, sale: Sale, fast: bool, **extra: Any) -> Doc:
    """An Invoice / Estimate / SalesReceipt / CreditMemo / RefundReceipt with the sale's totals; SyncToken
    and MetaData are placeholders the caller settles once it knows the document's history."""
    clock = ctx.clock
    emailed = sale.customer.email is not None and sale.customer.doc["PreferredDeliveryMethod"] == "Email"
    doc: Doc = {}
    if entity == "Invoice":
        doc |= {
            "AllowIPNPayment": False,
            "AllowOnlinePayment": False,
            "AllowOnlineCreditCardPayment": False,
            "AllowOnlineACHPayment": False,
        }
    doc |= {
        **ctx.head(sale.id, sale.ct, sale.ct),
        "DocNumber": str(1000 + sale.id),
        "TxnDate": clock.iso(sale.day),
        "CurrencyRef": USD,
    }
    if entity == "Estimate":
        doc["TxnStatus"] = extra.pop("TxnStatus")
    if entity not in ("CreditMemo", "RefundReceipt"):
        doc["LinkedTxn"] = []
    doc |= {
        "Line": sale_lines(ctx, sale),
        "TxnTaxDetail": {"TxnTaxCodeRef": {"value": ctx.tax.code}} if sale.taxed else {},
        **_sale_party_fields(sale),
    }
    if entity == "Invoice":
        doc |= {
            "SalesTermRef": sale.customer.term.ref,
            "DueDate": clock.iso(sale.day + sale.customer.term.days),
        }
    doc |= {
        "TotalAmt": 0,
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NotSet" if emailed else "NeedToPrint",
    }
    if entity != "RefundReceipt":  # a refund is not e-mailed: QBO's RefundReceipt has no EmailStatus
        doc["EmailStatus"] = "EmailSent" if emailed else "NotSet"
    if entity in ("Invoice", "SalesReceipt", "CreditMemo", "RefundReceipt"):
        doc["Balance"] = 0
    doc |= extra
    _sale_tail(sale, doc)
    apply_totals(ctx, entity, doc, sale, fast)
    if entity == "Invoice":
        doc["Balance"] = doc["TotalAmt"]
    elif entity == "CreditMemo":
        doc["Balance"] = doc["RemainingCredit"] = doc["TotalAmt"]
    return doc


def void_invoice(doc: Doc) -> None:
    """What QBO's void leaves (invoice_void_response.json): zero amounts, no links, "Voided".

    `void_amounts` zeroes the money; the real API also drops Qty/UnitPrice, which would no longer
    multiply to the zero Amount."""
    void_amounts(doc)
    doc["LinkedTxn"] = []
    for line in doc["Line"]:
        detail = line.get("SalesItemLineDetail")
        if detail is not None:
            detail.pop("Qty", None)
            detail.pop("UnitPrice", None)


# settlements: who pays what, when -----------------------------------------------------------------
@dataclass(frozen=True)
class Habits:
    """How a kind of document gets paid: the settlement planner's knobs."""

    never: float  # left open for good (the overdue tail)
    partial: float  # paid in two instalments
    merge: float  # folded into one payment with the party's other documents due about then
    window: int  # days within which documents are paid together
    batch: float  # paid in a same-second batch (bank-feed sync, "Pay bills" run)
    batch_seconds: int  # when in the day that batch runs


CUSTOMER_HABITS = Habits(never=0.04, partial=0.06, merge=0.75, window=30, batch=0.12, batch_seconds=19 * HOUR)
VENDOR_HABITS = Habits(never=0.02, partial=0.04, merge=0.85, window=30, batch=0.35, batch_seconds=17 * HOUR)


@dataclass(slots=True)
class Due:
    """An invoice or bill awaiting money."""

    index: int  # position in its chunk
    id: int  # the invoice's (bill's) Id
    party: Party
    day: int
    ct: int
    total: int
    due_day: int
    deadline: int | None  # the party is deactivated: paid in full by then


@dataclass(slots=True)
class Settlement:
    """A payment or bill payment: what it applies to which document, and any unapplied amount."""

    party: Party
    day: int
    applied: list[tuple[Due, int]]
    extra: int = 0
    ct: int = 0
    id: int = 0

    @property
    def total(self) -> int:
        return sum(amount for _due, amount in self.applied) + self.extra


def _lateness(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.15:
        return -rng.randint(0, 20)
    if roll < 0.75:
        return rng.randint(-3, 10)
    if roll < 0.95:
        return rng.randint(10, 45)
    return rng.randint(45, 120)


def settle(rng: random.Random, dues: Sequence[Due], last_day: int, habits: Habits) -> list[Settlement]:
    """Most documents are paid around their due date, some late, some in two goes, some never; a party
    often pays several documents with one payment."""
    singles: list[Settlement] = []
    intents: dict[int, list[tuple[int, Due]]] = {}
    for due in dues:
        bound = due.deadline
        if bound is None and rng.random() < habits.never:
            continue
        day = max(due.day, due.due_day + _lateness(rng))
        day = min(day, bound) if bound is not None else day
        if day > last_day:
            continue
        if bound is None and due.total >= 200 and rng.random() < habits.partial:
            first = due.total * rng.randint(20, 70) // 100
            singles.append(Settlement(due.party, day, [(due, first)]))
            rest = day + rng.randint(7, 45)
            if rest <= last_day and rng.random() < 0.6:
                singles.append(Settlement(due.party, rest, [(due, due.total - first)]))
            continue
        intents.setdefault(due.party.id, []).append((day, due))
    grouped: list[Settlement] = []
    for plans in intents.values():
        plans.sort(key=lambda plan: (plan[0], plan[1].index))
        current, opened = None, 0
        for day, due in plans:
            if (
                current
                and day - opened <= habits.window
                and len(current.applied) < 5
                and rng.random() < habits.merge
            ):
                current.applied.append((due, due.total))
                current.day = day
            else:
                current, opened = Settlement(due.party, day, [(due, due.total)]), day
                grouped.append(current)
    return singles + grouped


def time_settlements(
    ctx: Context, rng: random.Random, entity: str, settlements: list[Settlement], habits: Habits
) -> None:
    """Creation times (after every document they pay) and ids in creation order."""
    clock = ctx.clock
    for s in settlements:
        floor = max((due.ct for due, _ in s.applied), default=0)
        ct = (
            clock.at(s.day, habits.batch_seconds)
            if rng.random() < habits.batch
            else clock.business(rng, s.day)
        )
        s.ct = ct if ct > floor else floor + rng.randint(60, HOUR)
    settlements.sort(key=lambda s: (s.ct, s.party.id, s.applied[0][0].index if s.applied else -1))
    first = ctx.take_ids(entity, len(settlements))
    for n, s in enumerate(settlements):
        s.id = first + n


# invoices, estimates and payments ---------------------------------------------------------------------
@dataclass
class InvoiceRun:
    """What survives between invoice chunks: the reminder batch and the estimate quota."""

    reminder_ts: int
    reminders_left: int
    estimates_made: int = 0
    invoices_made: int = 0


def _invoices(ctx: Context) -> None:
    p = ctx.profile
    if not p.invoices or not ctx.customers:
        return
    rng, clock = ctx.rng("invoices"), ctx.clock
    month_starts = [d for d in range(1, clock.last + 1) if clock.date(d).day == 1]
    recurring = clock.daily_counts(round(p.invoices * 0.08), days=month_starts)
    normal = clock.daily_counts(p.invoices - sum(recurring))
    run = InvoiceRun(clock.at(clock.last - 1, 16 * HOUR + 30 * 60), p.reminder_cap)
    customers = Sticky(ctx.customer_pool, 0.45)
    pending: list[Sale] = []
    for day in range(1, clock.last + 1):
        today = [
            _invoice_sale(ctx, rng, customers, day, clock.business(rng, day)) for _ in range(normal[day])
        ]
        today += [
            _invoice_sale(ctx, rng, customers, day, clock.at(day, 5 * HOUR)) for _ in range(recurring[day])
        ]
        today.sort(key=lambda s: s.ct)
        pending += today
        if len(pending) >= p.chunk or (day == clock.last and pending):
            _flush_invoices(ctx, rng, pending, run)
            pending = []


def _invoice_sale(ctx: Context, rng: random.Random, customers: Sticky, day: int, ct: int) -> Sale:
    sale = plan_sale(ctx, rng, customers.pick(rng, day), day, ct)
    # converted from an estimate (made in the flush, once ids exist); recurring runs never are
    sale.from_estimate = rng.random() < ctx.profile.estimate_share and ct >= ctx.clock.at(day, 8 * HOUR)
    return sale


def _flush_invoices(ctx: Context, rng: random.Random, sales: list[Sale], run: InvoiceRun) -> None:
    p, clock = ctx.profile, ctx.clock
    first = ctx.take_ids("Invoice", len(sales))
    for n, sale in enumerate(sales):
        sale.id = first + n
    estimates = _estimates(ctx, rng, sales, run)
    voids: dict[int, int] = {}
    dues: list[Due] = []
    for n, sale in enumerate(sales):
        bound = sale.customer.until + 1 if sale.customer.until < clock.last else None
        if bound is None and sale.estimate is None and rng.random() < 0.02:
            ts = clock.business(rng, min(clock.last, sale.day + rng.randint(0, 10)))
            voids[n] = ts if ts > sale.ct else sale.ct + rng.randint(60, HOUR)
        elif sale.total > 0:
            due_day = sale.day + sale.customer.term.days
            dues.append(Due(n, sale.id, sale.customer, sale.day, sale.ct, sale.total, due_day, bound))
    payments = settle(rng, dues, clock.last, CUSTOMER_HABITS)
    for payment in payments:
        if rng.random() < 0.04:
            payment.extra = rng.randint(5, 150) * 100  # overpaid: the rest stays unapplied
    payments += _prepayments(ctx, rng, sales)
    time_settlements(ctx, rng, "Payment", payments, CUSTOMER_HABITS)
    applied: dict[int, list[tuple[Settlement, int]]] = {}
    for payment in payments:
        for due, amount in payment.applied:
            applied.setdefault(due.index, []).append((payment, amount))
    ctx.write(
        "Invoice",
        (_invoice_doc(ctx, rng, s, applied.get(n, []), voids.get(n), run) for n, s in enumerate(sales)),
    )
    ctx.write("Estimate", estimates)
    ctx.write("Payment", (_payment_doc(ctx, rng, payment) for payment in payments))
    run.invoices_made += len(sales)
    ctx.progress(f"Invoice {run.invoices_made:,}/{p.invoices:,}")


def _prepayments(ctx: Context, rng: random.Random, sales: list[Sale]) -> list[Settlement]:
    """Money received before anything is invoiced: a payment with no lines, all of it unapplied."""
    made = []
    for _ in range(int(len(sales) * 0.004 + rng.random())):
        day = rng.randint(sales[0].day, sales[-1].day)
        made.append(Settlement(ctx.customer_pool.pick(rng, day), day, [], extra=rng.randint(50, 2000) * 100))
    return made


def _estimates(
    ctx: Context, rng: random.Random, sales: list[Sale], run: InvoiceRun
) -> list[tuple[Doc, int, int]]:
    """Estimates converted into this chunk's invoices (linked both ways) and its share of standalone ones."""
    p, clock = ctx.profile, ctx.clock
    made: list[tuple[Sale, str, int, int | None]] = []  # (estimate, TxnStatus, last update, invoice Id)
    for sale in sales:
        if not sale.from_estimate:
            continue
        day = max(sale.customer.since, sale.day - rng.randint(1, 21))
        ct = clock.business(rng, day)
        ct = ct if ct < sale.ct else sale.ct - rng.randint(60, HOUR)
        estimate = Sale(
            sale.customer,
            clock.day_of(ct),
            ct,
            sale.lines,
            sale.discount_percent,
            sale.discount_fixed,
            sale.taxed,
            class_ref=sale.class_ref,
            department_ref=sale.department_ref,
        )
        total_sale(estimate, ctx.tax.basis_points)
        sale.estimate = estimate
        made.append((estimate, "Closed", sale.ct, sale.id))  # converting it closed it: one update
    done = run.invoices_made + len(sales)
    quota = p.estimates * done // p.invoices - run.estimates_made
    run.estimates_made += quota
    for _ in range(quota):
        day = rng.randint(sales[0].day, sales[-1].day)
        estimate = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, clock.business(rng, day))
        status = "Pending" if day > clock.last - 30 else rng.choice(("Accepted", "Rejected", "Pending"))
        answered = status != "Pending"  # accepting or rejecting it is an update, within a month
        stop = min(clock.end, estimate.ct + 30 * 86400)
        lut = max(clock.later(rng, estimate.ct, 1.0 if answered else 0.1, 1, stop), default=estimate.ct)
        made.append((estimate, status, lut, None))
    made.sort(key=lambda m: m[0].ct)
    first = ctx.take_ids("Estimate", len(made))
    docs = []
    for n, (estimate, status, lut, invoice_id) in enumerate(made):
        estimate.id = first + n
        doc = sales_doc(
            ctx,
            "Estimate",
            estimate,
            p.fast_sales,
            TxnStatus=status,
            ExpirationDate=clock.iso(estimate.day + 30),
        )
        if invoice_id is not None:
            doc["LinkedTxn"].append({"TxnId": str(invoice_id), "TxnType": "Invoice"})
        if status == "Accepted":
            doc |= {
                "AcceptedBy": estimate.customer.doc["PrintOnCheckName"],
                "AcceptedDate": clock.iso(clock.day_of(lut)),
            }
        doc |= {"SyncToken": "0" if lut == estimate.ct else "1", "MetaData": clock.meta(estimate.ct, lut)}
        docs.append((doc, estimate.ct, lut))
    return docs


def _invoice_doc(
    ctx: Context,
    rng: random.Random,
    sale: Sale,
    paid_by: list[tuple[Settlement, int]],
    void_ts: int | None,
    run: InvoiceRun,
) -> tuple[Doc, int, int]:
    """The invoice as it stands at the anchor: every payment applied (each one an update), void, reminder."""
    clock = ctx.clock
    doc = sales_doc(ctx, "Invoice", sale, ctx.profile.fast_sales)
    events: list[int] = []
    if sale.estimate is not None:
        doc["LinkedTxn"].append({"TxnId": str(sale.estimate.id), "TxnType": "Estimate"})
    open_cents = sale.total
    for payment, amount in sorted(paid_by, key=lambda pa: pa[0].ct):
        doc["LinkedTxn"].append({"TxnId": str(payment.id), "TxnType": "Payment"})
        open_cents -= amount
        events.append(payment.ct)
    if rng.random() < 0.04:  # someone fixed a detail later
        events.append(min(clock.end, sale.ct + rng.randint(300, 5 * 86400)))
        doc["PrivateNote"] = rng.choice(NOTES)
    if void_ts is not None:
        void_invoice(doc)
        events.append(void_ts)
        open_cents = 0
    doc["Balance"] = wire(open_cents)
    overdue = sale.day + sale.customer.term.days < clock.last - 1
    if (
        open_cents > 0
        and overdue
        and sale.customer.email
        and run.reminders_left > 0
        and max(events, default=sale.ct) < run.reminder_ts
    ):
        run.reminders_left -= 1  # the "send reminders" batch action: one second for all of them
        doc["EmailStatus"] = "EmailSent"
        doc["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": clock.format(run.reminder_ts)}
        events.append(run.reminder_ts)
    lut, sync = _stamp(sale.ct, events)
    doc |= {"SyncToken": str(sync), "MetaData": clock.meta(sale.ct, lut)}
    sale.customer.balance += open_cents
    return doc, sale.ct, lut


def _payment_doc(ctx: Context, rng: random.Random, payment: Settlement) -> tuple[Doc, int, int]:
    clock = ctx.clock
    method = _draw(rng, ctx.method_table)
    to_bank = rng.random() < 0.15
    doc: Doc = {
        "CustomerRef": payment.party.ref,
        "DepositToAccountRef": ctx.account("Checking" if to_bank else "Undeposited Funds"),
        "PaymentMethodRef": method,
    }
    if method["name"] == "Check":
        doc["PaymentRefNum"] = str(rng.randint(1000, 9999))
    lut, sync = _stamp(payment.ct, clock.later(rng, payment.ct, 0.03, 1))
    doc |= {
        "TotalAmt": wire(payment.total),
        "UnappliedAmt": wire(payment.extra),
        "ProcessPayment": False,
        **ctx.head(payment.id, payment.ct, lut, sync),
        "TxnDate": clock.iso(payment.day),
        "CurrencyRef": USD,
    }
    if not payment.applied:
        doc["PrivateNote"] = "Deposit received in advance"
    doc["Line"] = [
        {"Amount": wire(amount), "LinkedTxn": [{"TxnId": str(due.id), "TxnType": "Invoice"}]}
        for due, amount in payment.applied
    ]
    if not to_bank:
        ctx.undeposited += payment.total
    return doc, payment.ct, lut


# bills and bill payments --------------------------------------------------------------------------
@dataclass(slots=True)
class Purchase:
    """A bill's content: lines (as a client sends them) and their total in cents."""

    vendor: Party
    day: int
    ct: int
    lines: list[Doc]
    total: int
    id: int = 0


def _expense_lines(
    ctx: Context, rng: random.Random, vendor: Party, day: int, items: bool
) -> tuple[list[Doc], int]:
    """Item lines (stock bought at cost) or account lines (what the vendor bills for)."""
    lines: list[Doc] = []
    total = 0
    for num in range(1, _draw(rng, EXPENSE_LINE_COUNTS) + 1):
        if items:
            item = ctx.stock_pool.pick(rng, day)
            qty, cost = rng.randint(1, 40), item.cost or rng.randint(5, 60) * 100
            amount = qty * cost
            lines.append(
                {
                    "Id": str(num),
                    "LineNum": num,
                    "Description": item.description or item.ref["name"],
                    "Amount": wire(amount),
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {
                        "BillableStatus": "NotBillable",
                        "ItemRef": item.ref,
                        "UnitPrice": wire(cost),
                        "Qty": qty,
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            )
        else:
            account = vendor.expense_account or rng.choice(EXPENSE_ACCOUNTS)
            amount = rng.randint(20, 2500) * 100 + rng.choice((0, 0, 50, rng.randint(1, 99)))
            detail: Doc = {}
            if ctx.customer_pool and rng.random() < 0.15:
                detail["CustomerRef"] = ctx.customer_pool.pick(rng, day).ref
                detail["BillableStatus"] = rng.choice(("Billable", "HasBeenBilled"))
            else:
                detail["BillableStatus"] = "NotBillable"
            detail |= {"AccountRef": ctx.account(account), "TaxCodeRef": {"value": "NON"}}
            lines.append(
                {
                    "Id": str(num),
                    "LineNum": num,
                    "Amount": wire(amount),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": detail,
                }
            )
        total += amount
    return lines, total


def _expense_total(entity: str, doc: Doc, cents: int, fast: bool) -> None:
    """TotalAmt = sum of lines: through `normalise_lines`/`line_total` as the API does, or from cents."""
    if not fast:
        doc["Line"] = normalise_lines(entity, doc["Line"])
        doc["TotalAmt"] = money(line_total(doc))
        if doc["TotalAmt"] != wire(cents):
            raise AssertionError(f"{entity} arithmetic drifted: {doc['TotalAmt']} != {wire(cents)}")
    else:
        doc["TotalAmt"] = wire(cents)


def _bills(ctx: Context) -> None:
    p = ctx.profile
    if not (p.bills or p.purchase_orders) or not ctx.vendor_pool:
        return
    rng, clock = ctx.rng("bills"), ctx.clock
    counts = clock.daily_counts(p.bills)
    vendors = Sticky(ctx.vendor_pool, 0.5)
    orders = _order_run(ctx)
    pending: list[Purchase] = []
    made = 0
    for day in range(1, clock.last + 1):
        for ct in sorted(clock.business(rng, day) for _ in range(counts[day])):
            vendor = vendors.pick(rng, day)
            stock = vendor.expense_account is None and bool(ctx.stock_pool)
            lines, total = _expense_lines(ctx, rng, vendor, day, stock and rng.random() < 0.8)
            pending.append(Purchase(vendor, day, ct, lines, total))
        if len(pending) >= p.chunk or day == clock.last:  # the last flush also places the open orders left
            _flush_bills(ctx, rng, pending, orders, day)
            made += len(pending)
            if pending:
                ctx.progress(f"Bill {made:,}/{p.bills:,}")
            pending = []


def _flush_bills(
    ctx: Context, rng: random.Random, bills: list[Purchase], orders: OrderRun, upto: int
) -> None:
    clock = ctx.clock
    first = ctx.take_ids("Bill", len(bills))
    for n, bill in enumerate(bills):
        bill.id = first + n
    ordered = _purchase_orders(ctx, orders, bills, upto)
    dues = []
    for n, bill in enumerate(bills):
        bound = bill.vendor.until + 1 if bill.vendor.until < clock.last else None
        dues.append(
            Due(
                n,
                bill.id,
                bill.vendor,
                bill.day,
                bill.ct,
                bill.total,
                bill.day + bill.vendor.term.days,
                bound,
            )
        )
    payments = settle(rng, dues, clock.last, VENDOR_HABITS)
    time_settlements(ctx, rng, "BillPayment", payments, VENDOR_HABITS)
    paid_by: dict[int, list[tuple[Settlement, int]]] = {}
    for payment in payments:
        for due, amount in payment.applied:
            paid_by.setdefault(due.index, []).append((payment, amount))
    ctx.write(
        "Bill",
        (_bill_doc(ctx, rng, bill, paid_by.get(n, []), ordered.get(n)) for n, bill in enumerate(bills)),
    )
    ctx.write("BillPayment", (_bill_payment_doc(ctx, rng, payment) for payment in payments))


def _bill_doc(
    ctx: Context,
    rng: random.Random,
    bill: Purchase,
    paid_by: list[tuple[Settlement, int]],
    order_id: int | None = None,
) -> tuple[Doc, int, int]:
    clock = ctx.clock
    vendor = bill.vendor
    doc: Doc = {
        "SalesTermRef": vendor.term.ref,
        "DueDate": clock.iso(bill.day + vendor.term.days),
        "Balance": 0,
        **ctx.head(bill.id, bill.ct, bill.ct),
    }
    if rng.random() < 0.6:
        doc["DocNumber"] = str(rng.randint(1000, 99_999))
    doc |= {
        "TxnDate": clock.iso(bill.day),
        "CurrencyRef": USD,
        "LinkedTxn": [] if order_id is None else [{"TxnId": str(order_id), "TxnType": "PurchaseOrder"}],
        "Line": bill.lines,
        "VendorRef": vendor.ref,
        "APAccountRef": ctx.account("Accounts Payable (A/P)"),
        "TotalAmt": 0,
    }
    if ctx.departments and rng.random() < 0.3:
        doc["DepartmentRef"] = rng.choice(ctx.departments)
    _expense_total("Bill", doc, bill.total, ctx.profile.fast_sales)
    open_cents, events = bill.total, []
    for payment, amount in sorted(paid_by, key=lambda pa: pa[0].ct):
        doc["LinkedTxn"].append({"TxnId": str(payment.id), "TxnType": "BillPayment"})
        open_cents -= amount
        events.append(payment.ct)
    events += clock.later(rng, bill.ct, 0.03, 1)
    doc["Balance"] = wire(open_cents)
    lut, sync = _stamp(bill.ct, events)
    doc |= {"SyncToken": str(sync), "MetaData": clock.meta(bill.ct, lut)}
    vendor.balance += open_cents
    return doc, bill.ct, lut


def _bill_payment_doc(ctx: Context, rng: random.Random, payment: Settlement) -> tuple[Doc, int, int]:
    clock = ctx.clock
    doc: Doc = {"VendorRef": payment.party.ref}
    if rng.random() < 0.8:
        doc |= {
            "PayType": "Check",
            "CheckPayment": {
                "BankAccountRef": ctx.account("Checking"),
                "PrintStatus": rng.choice(("NeedToPrint", "PrintComplete")),
            },
        }
    else:
        doc |= {"PayType": "CreditCard", "CreditCardPayment": {"CCAccountRef": ctx.account("Mastercard")}}
    lut, sync = _stamp(payment.ct, clock.later(rng, payment.ct, 0.03, 1))
    doc |= {"TotalAmt": wire(payment.total), **ctx.head(payment.id, payment.ct, lut, sync)}
    if doc["PayType"] == "Check":
        doc["DocNumber"] = str(5000 + payment.id)
    doc |= {
        "TxnDate": clock.iso(payment.day),
        "CurrencyRef": USD,
        "APAccountRef": ctx.account("Accounts Payable (A/P)"),
        "Line": [
            {"Amount": wire(amount), "LinkedTxn": [{"TxnId": str(due.id), "TxnType": "Bill"}]}
            for due, amount in payment.applied
        ],
    }
    return doc, payment.ct, lut


# purchase orders ------------------------------------------------------------------------------------
PO_MEMOS = (
    "Please deliver to the side gate",
    "Call the office before delivery",
    "Deliver to the job site",
    "Partial shipments OK",
)


@dataclass(slots=True)
class OrderRun:
    """Purchase orders across bill chunks: bills still to enter from an order, open orders still to place."""

    rng: random.Random
    converted: int  # bills entered from a purchase order (which that bill closed), over the whole history
    open_days: deque[int]  # days of the orders nothing has been received for yet, in order
    vendors: Pool  # who an open order goes to: vendors still active
    since: dict[tuple[str, str], int]  # (entity, Id) -> first day it exists, for the lines an order copies
    bills_seen: int = 0
    converted_made: int = 0


def _order_run(ctx: Context) -> OrderRun:
    p, clock = ctx.profile, ctx.clock
    rng = ctx.rng("purchase_orders")
    converted = min(p.purchase_orders - (p.purchase_orders + 2) // 4, p.bills)
    recent = max(1, clock.last - 59)
    days = sorted(  # mostly awaiting delivery; a few were forgotten long ago
        rng.randint(recent, clock.last) if rng.random() < 0.75 else rng.randint(1, clock.last)
        for _ in range(p.purchase_orders - converted)
    )
    active = [v for v in ctx.vendors if v.until == clock.last]
    since = {("Item", i.ref["value"]): i.since for i in ctx.items}
    since |= {("Customer", c.ref["value"]): c.since for c in ctx.customers}
    return OrderRun(rng, converted, deque(days), Pool(active, skew=1.3) if active else ctx.vendor_pool, since)


def _purchase_orders(ctx: Context, orders: OrderRun, bills: list[Purchase], upto: int) -> dict[int, int]:
    """This chunk's purchase orders, ids in creation order: the ones its bills were entered from (closed by
    them, linked both ways) and the open ones dated up to `upto`. Returns the order Id per bill index."""
    p, clock, rng = ctx.profile, ctx.clock, orders.rng
    orders.bills_seen += len(bills)
    quota = orders.converted * orders.bills_seen // max(1, p.bills) - orders.converted_made
    quota = min(quota, len(bills))
    orders.converted_made += quota
    goods = [
        n
        for n, bill in enumerate(bills)
        if all(line["DetailType"] == "ItemBasedExpenseLineDetail" for line in bill.lines)
    ]
    chosen = rng.sample(goods, min(quota, len(goods)))  # orders are mostly for stock...
    if len(chosen) < quota:  # ... and otherwise for services and supplies billed to an account
        taken = set(goods)
        chosen += rng.sample([n for n in range(len(bills)) if n not in taken], quota - len(chosen))
    plans: list[tuple[Purchase, Purchase | None, int]] = []  # (order, the bill that closed it, its index)
    for n in sorted(chosen):
        bill = bills[n]
        day = max(_first_day(orders, bill), bill.day - rng.randint(2, 30))
        ct = clock.business(rng, day)
        if ct >= bill.ct:
            ct = bill.ct - rng.randint(60, HOUR)
        plans.append((Purchase(bill.vendor, clock.day_of(ct), ct, bill.lines, bill.total), bill, n))
    while orders.open_days and orders.open_days[0] <= upto:
        day = orders.open_days.popleft()
        vendor = orders.vendors.pick(rng, day)
        stock = vendor.expense_account is None and bool(ctx.stock_pool)
        lines, total = _expense_lines(ctx, rng, vendor, day, stock)
        plans.append((Purchase(vendor, day, clock.business(rng, day), lines, total), None, -1))
    plans.sort(key=lambda plan: plan[0].ct)
    first = ctx.take_ids("PurchaseOrder", len(plans))
    linked: dict[int, int] = {}
    docs = []
    for k, (order, bill, n) in enumerate(plans):
        order.id = first + k
        docs.append(_purchase_order_doc(ctx, rng, order, bill))
        if bill is not None:
            linked[n] = order.id
    ctx.write("PurchaseOrder", docs)
    return linked


def _first_day(orders: OrderRun, bill: Purchase) -> int:
    """The first day everything on the bill existed: its order cannot be older."""
    day = bill.vendor.since
    for line in bill.lines:
        detail = line.get("ItemBasedExpenseLineDetail") or line.get("AccountBasedExpenseLineDetail") or {}
        for key, entity in (("ItemRef", "Item"), ("CustomerRef", "Customer")):
            if key in detail:
                day = max(day, orders.since[entity, detail[key]["value"]])
    return day


def _purchase_order_doc(
    ctx: Context, rng: random.Random, order: Purchase, bill: Purchase | None
) -> tuple[Doc, int, int]:
    """An order as it stands: open, or closed by the bill entered from it (that bill's creation is its
    last update)."""
    clock = ctx.clock
    vendor = order.vendor
    events = clock.later(rng, order.ct, 0.08, 1, clock.end if bill is None else bill.ct - 1)
    if bill is not None:
        events.append(bill.ct)
    lut, sync = _stamp(order.ct, events)
    doc: Doc = {
        "APAccountRef": ctx.account("Accounts Payable (A/P)"),
        **ctx.head(order.id, order.ct, lut, sync),
        "DocNumber": str(1000 + order.id),
        "TxnDate": clock.iso(order.day),
        "CurrencyRef": USD,
        "POStatus": "Open" if bill is None else "Closed",
    }
    if bill is not None:
        doc["LinkedTxn"] = [{"TxnId": str(bill.id), "TxnType": "Bill"}]
    doc |= {"Line": order.lines, "VendorRef": vendor.ref}
    if vendor.bill_addr:
        doc["VendorAddr"] = vendor.bill_addr
    if rng.random() < 0.3:
        doc["Memo"] = rng.choice(PO_MEMOS)
    doc["TotalAmt"] = 0
    _expense_total("PurchaseOrder", doc, order.total, ctx.profile.fast_sales)
    return doc, order.ct, lut


# the other transactions: one document per draw, streamed --------------------------------------------
Builder = Callable[[random.Random, int, int, int], tuple[Doc, int]]


def _stream(ctx: Context, entity: str, count: int, build: Builder) -> None:
    """`count` documents spread over the history, ids in creation order, written in chunks."""
    if count <= 0:
        return
    rng, clock, chunk = ctx.rng(entity), ctx.clock, ctx.profile.chunk
    counts = clock.daily_counts(count)
    batch: list[tuple[Doc, int, int]] = []
    made = 0
    for day in range(1, clock.last + 1):
        for ct in sorted(clock.business(rng, day) for _ in range(counts[day])):
            doc, lut = build(rng, ctx.take_ids(entity), day, ct)
            batch.append((doc, ct, lut))
        if len(batch) >= chunk or (day == clock.last and batch):
            ctx.write(entity, batch)
            made += len(batch)
            ctx.progress(f"{entity} {made:,}/{count:,}")
            batch = []


def _edited(ctx: Context, rng: random.Random, ct: int, chance: float = 0.05) -> tuple[int, int]:
    return _stamp(ct, ctx.clock.later(rng, ct, chance, 1))


def _sales_receipt(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        sale = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, ct)
        sale.id = id_
        method = _draw(rng, ctx.method_table)
        doc = sales_doc(
            ctx,
            "SalesReceipt",
            sale,
            ctx.profile.fast_sales,
            PaymentMethodRef=method,
            DepositToAccountRef=ctx.account("Undeposited Funds"),
        )
        ctx.undeposited += sale.total
        lut, sync = _edited(ctx, rng, ct)
        doc |= {"SyncToken": str(sync), "MetaData": ctx.clock.meta(ct, lut)}
        return doc, lut

    return build


def _credit_memo(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        sale = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, ct)
        sale.id = id_
        doc = sales_doc(
            ctx, "CreditMemo", sale, ctx.profile.fast_sales, PrivateNote="Returned goods / service credit"
        )
        lut, sync = _edited(ctx, rng, ct)
        doc |= {"SyncToken": str(sync), "MetaData": ctx.clock.meta(ct, lut)}
        return doc, lut

    return build


def _refund_receipt(ctx: Context) -> Builder:
    """Money paid back over the counter: a sales form whose total leaves the bank account."""

    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        sale = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, ct)
        sale.id = id_
        method = _draw(rng, ctx.method_table)
        extra: Doc = {"PaymentMethodRef": method, "DepositToAccountRef": ctx.account("Checking")}
        if method["name"] == "Check":
            extra["PaymentRefNum"] = "To Print"
        extra["PrivateNote"] = rng.choice(REFUND_NOTES)
        doc = sales_doc(ctx, "RefundReceipt", sale, ctx.profile.fast_sales, **extra)
        lut, sync = _edited(ctx, rng, ct)
        doc |= {"SyncToken": str(sync), "MetaData": ctx.clock.meta(ct, lut)}
        return doc, lut

    return build


def _journal_entry(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        memo, debits, credits = rng.choice(JOURNALS)
        amounts = [rng.randint(50, 5000) * 100 + rng.randint(0, 99) for _ in debits]
        lines: list[Doc] = []
        for account, amount in zip(debits, amounts, strict=True):
            lines.append(_journal_line(ctx, len(lines) + 1, memo, amount, "Debit", account))
        lines.append(_journal_line(ctx, len(lines) + 1, memo, sum(amounts), "Credit", credits[0]))
        lut, sync = _edited(ctx, rng, ct)
        doc: Doc = {
            "Adjustment": False,
            **ctx.head(id_, ct, lut, sync),
            "DocNumber": f"JE{id_:04d}",
            "TxnDate": ctx.clock.iso(day),
            "CurrencyRef": USD,
            "PrivateNote": memo,
            "Line": normalise_lines("JournalEntry", lines),
        }
        journal_balanced(doc)
        return doc, lut

    return build


def _journal_line(ctx: Context, num: int, memo: str, cents: int, posting: str, account: str) -> Doc:
    return {
        "Id": str(num),
        "Description": memo,
        "Amount": wire(cents),
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": ctx.account(account)},
    }


def _deposit(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        lines = []
        for num in range(1, rng.randint(1, 3) + 1):
            account = rng.choice(
                ("Interest Earned", "Other Income", "Owner's Investment", "Sales of Product Income")
            )
            detail: Doc = {"AccountRef": ctx.account(account)}
            if rng.random() < 0.5:
                detail["PaymentMethodRef"] = _draw(rng, ctx.method_table)
            lines.append(
                {
                    "Id": str(num),
                    "LineNum": num,
                    "Amount": wire(rng.randint(10, 3000) * 100),
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": detail,
                }
            )
        lut, sync = _edited(ctx, rng, ct)
        doc: Doc = {
            "DepositToAccountRef": ctx.account("Checking"),
            **ctx.head(id_, ct, lut, sync),
            "TxnDate": ctx.clock.iso(day),
            "CurrencyRef": USD,
            "Line": normalise_lines("Deposit", lines),
        }
        doc["TotalAmt"] = money(line_total(doc))
        return doc, lut

    return build


def _purchase(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        vendor = ctx.vendor_pool.pick(rng, day)
        kind = _draw(rng, PURCHASE_KINDS)
        lines, total = _expense_lines(ctx, rng, vendor, day, items=False)
        lut, sync = _edited(ctx, rng, ct)
        doc: Doc = {
            "AccountRef": ctx.account("Mastercard" if kind == "CreditCard" else "Checking"),
            "PaymentType": kind,
        }
        if kind != "Check":
            doc["PaymentMethodRef"] = ctx.methods[3 if kind == "CreditCard" else 0]
        doc |= {
            "EntityRef": {**vendor.ref, "type": "Vendor"},
            "Credit": False,
            "TotalAmt": 0,
            **ctx.head(id_, ct, lut, sync),
        }
        if kind == "Check":
            doc["DocNumber"] = str(20_000 + id_)
        doc |= {"TxnDate": ctx.clock.iso(day), "CurrencyRef": USD, "PrintStatus": "NotSet", "Line": lines}
        _expense_total("Purchase", doc, total, ctx.profile.fast_sales)
        return doc, lut

    return build


def _vendor_credit(ctx: Context) -> Builder:
    """Credit a vendor owes back (returned stock, an overcharge): expense lines, nothing applied yet."""

    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        vendor = ctx.vendor_pool.pick(rng, day)
        stock = vendor.expense_account is None and bool(ctx.stock_pool)
        lines, total = _expense_lines(ctx, rng, vendor, day, stock and rng.random() < 0.8)
        lut, sync = _edited(ctx, rng, ct)
        doc: Doc = {"APAccountRef": ctx.account("Accounts Payable (A/P)"), **ctx.head(id_, ct, lut, sync)}
        if rng.random() < 0.6:
            doc["DocNumber"] = f"CM-{rng.randint(100, 9999)}"
        doc |= {
            "TxnDate": ctx.clock.iso(day),
            "CurrencyRef": USD,
            "PrivateNote": rng.choice(VENDOR_CREDIT_NOTES),
            "Line": lines,
            "VendorRef": vendor.ref,
            "TotalAmt": 0,
        }
        if ctx.departments and rng.random() < 0.3:
            doc["DepartmentRef"] = rng.choice(ctx.departments)
        _expense_total("VendorCredit", doc, total, ctx.profile.fast_sales)
        doc["Balance"] = doc["TotalAmt"]
        return doc, lut

    return build


def _transfer(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        source, target = ("Checking", "Savings") if rng.random() < 0.7 else ("Savings", "Checking")
        lut, sync = _edited(ctx, rng, ct)
        doc: Doc = {
            "FromAccountRef": ctx.account(source),
            "ToAccountRef": ctx.account(target),
            "Amount": wire(rng.randint(5, 200) * 10_000),
            **ctx.head(id_, ct, lut, sync),
            "TxnDate": ctx.clock.iso(day),
            "PrivateNote": f"Move funds to {target.lower()}",
        }
        return doc, lut

    return build


def _time_activity(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        worker = ctx.employee_pool.pick(rng, day)
        customer = ctx.customer_pool.pick(rng, day)
        item = ctx.service_pool.pick(rng, day) if ctx.service_pool else None
        billable = rng.random() < 0.7
        lut, sync = _edited(ctx, rng, ct)
        doc: Doc = {
            "TxnDate": ctx.clock.iso(day),
            "NameOf": "Employee",
            "EmployeeRef": worker.ref,
            "CustomerRef": customer.ref,
        }
        if item is not None:
            doc["ItemRef"] = item.ref
        doc |= {
            "BillableStatus": "Billable" if billable else "NotBillable",
            "Taxable": False,
            "HourlyRate": wire(worker.rate) if billable else 0,
            "Hours": rng.randint(0, 8),
            "Minutes": rng.choice((0, 15, 30, 45)),
            "Description": (item.description if item else "") or "Labor",
            **ctx.head(id_, ct, lut, sync),
        }
        return doc, lut

    return build


def _budgets(ctx: Context) -> None:
    """Monthly P&L budgets for the last fiscal years, each made at the start of its year."""
    p, clock = ctx.profile, ctx.clock
    if not p.budgets:
        return
    rng = ctx.rng("budgets")
    anchor = clock.date(clock.last)
    accounts = (
        "Services",
        "Sales of Product Income",
        "Rent or Lease",
        "Advertising",
        "Payroll Expenses",
        "Supplies",
    )
    docs = []
    for n, year in enumerate(range(anchor.year - p.budgets + 1, anchor.year + 1), start=1):
        start_day = max(1, (date(year, 1, 1) - clock.first).days)
        ct = clock.business(rng, start_day)
        lut, sync = _edited(ctx, rng, ct, 0.5)
        details = [
            {
                "BudgetDate": date(year, month, 1).isoformat(),
                "Amount": wire(rng.randint(5, 400) * 10_000),
                "AccountRef": ctx.account(account),
            }
            for account in accounts
            for month in range(1, 13)
        ]
        doc: Doc = {
            "Name": f"Budget FY{year}",
            "StartDate": f"{year}-01-01",
            "EndDate": f"{year}-12-31",
            "BudgetType": "ProfitAndLoss",
            "BudgetEntryType": "Monthly",
            "Active": True,
            "BudgetDetail": details,
            **ctx.head(n, ct, lut, sync),
        }
        docs.append((doc, ct, lut))
    ctx.take_ids("Budget", len(docs))
    ctx.write("Budget", docs)


# attachments ----------------------------------------------------------------------------------------
JPEG, PNG, PDF, CSV = "image/jpeg", "image/png", "application/pdf", "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# content type -> (Category, smallest and largest Size in bytes)
FILE_KINDS = {
    JPEG: ("Image", 80_000, 4_500_000),
    PNG: ("Image", 40_000, 2_500_000),
    PDF: ("Document", 25_000, 1_200_000),
    XLSX: ("Document", 9_000, 250_000),
    CSV: ("Other", 400, 40_000),
}
ATTACHED_TO = _table(
    ("Invoice", "Bill", "Purchase", "Customer", "Estimate", "PurchaseOrder", "Vendor", "SalesReceipt"),
    (30, 18, 14, 10, 6, 6, 6, 4),
)
# what gets attached to each: (FileName pattern, ContentType)
ATTACHED_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "Invoice": (("signed_work_order_{num}.pdf", PDF), ("site_photo_{n}.jpg", JPEG)),
    "Bill": (("{party}_invoice_{num}.pdf", PDF), ("receipt_{date}.jpg", JPEG)),
    "Purchase": (("receipt_{date}.jpg", JPEG), ("IMG_{n}.png", PNG)),
    "Customer": (("service_agreement_{party}.pdf", PDF), ("property_layout_{party}.png", PNG)),
    "Estimate": (("design_concept_{num}.pdf", PDF), ("plant_list_{num}.xlsx", XLSX)),
    "PurchaseOrder": (("spec_sheet_{num}.pdf", PDF), ("order_lines_{num}.csv", CSV)),
    "Vendor": (("W-9_{party}.pdf", PDF), ("price_list_{year}.xlsx", XLSX), ("delivery_log_{party}.csv", CSV)),
    "SalesReceipt": (("receipt_{num}.pdf", PDF),),
}
SALES_NOTES = (
    "Customer approved the plan on site",
    "Discussed the schedule by phone",
    "Gate code is in the customer notes",
    "Photos from the walkthrough to follow",
)
PURCHASE_NOTES = (
    "Checked against the packing slip",
    "Vendor confirmed the price by e-mail",
    "Receipt is in the office binder",
    "Disputed one line; credit promised",
)
ATTACHED_NOTES = {
    entity: SALES_NOTES if entity in ("Invoice", "Customer", "Estimate", "SalesReceipt") else PURCHASE_NOTES
    for entity in ATTACHED_FILES
}
ATTACH_DELAYS = _table((0, 1, 2, 3, 7), (10, 4, 2, 1, 1))  # days between a record and its attachment


def _attachables(ctx: Context) -> None:
    """Notes and files attached to records that exist (after they were made): receipts on bills and
    expenses, signed work orders and site photos on invoices, W-9s on vendors. Ids in creation order."""
    p, clock = ctx.profile, ctx.clock
    targets = [e for e in ATTACHED_TO if ctx.counts.get(e)]
    if not p.attachables or not targets:
        return
    rng = ctx.rng("attachables")
    table = tuple(targets)
    plans = []
    for _ in range(p.attachables):
        entity, id_, target_ct, target = _attachment_target(ctx, rng, table)
        day = min(clock.last, clock.day_of(target_ct) + _draw(rng, ATTACH_DELAYS))
        ct = clock.business(rng, day)  # uploaded in office hours, the same day or a few days later
        ct = ct if ct > target_ct else min(clock.end, target_ct + rng.randint(30, HOUR))
        plans.append((ct, entity, id_, target))
    plans.sort(key=lambda plan: plan[0])
    first = ctx.take_ids("Attachable", len(plans))
    docs = []
    for n, (ct, entity, target_id, target) in enumerate(plans):
        id_ = first + n
        doc: Doc = {
            "AttachableRef": [
                {"EntityRef": {"type": entity, "value": str(target_id)}, "IncludeOnSend": False}
            ]
        }
        if rng.random() < 0.7:
            pattern, content_type = rng.choice(ATTACHED_FILES[entity])
            category, smallest, largest = FILE_KINDS[content_type]
            ref = target.get("VendorRef") or target.get("EntityRef") or {}
            party = target.get("DisplayName") or ref.get("name", "")
            name = pattern.format(
                num=target.get("DocNumber") or target["Id"],
                n=rng.randint(1000, 9999),
                party=_slug(party) or entity.lower(),
                date=target.get("TxnDate", clock.iso(clock.day_of(ct))).replace("-", ""),
                year=clock.date(clock.day_of(ct)).year,
            )
            doc |= {
                "FileName": name,
                "FileAccessUri": f"/v3/company/{ctx.realm.realm_id}/download/{id_}",
                "Size": rng.randint(smallest, largest),
                "ContentType": content_type,
                "Category": category,
            }
            if content_type == PDF and entity in ("Invoice", "Estimate", "PurchaseOrder"):
                doc["AttachableRef"][0]["IncludeOnSend"] = rng.random() < 0.4
            if rng.random() < 0.2:
                doc["Note"] = rng.choice(ATTACHED_NOTES[entity])
        else:
            doc["Note"] = rng.choice(ATTACHED_NOTES[entity])
        lut, sync = _edited(ctx, rng, ct)
        doc |= ctx.head(id_, ct, lut, sync)
        docs.append((doc, ct, lut))
    ctx.write("Attachable", docs)


def _attachment_target(ctx: Context, rng: random.Random, table: tuple[str, ...]) -> tuple[str, int, int, Doc]:
    """A stored record to attach something to: (entity, Id, CreateTime, document); parties still active."""
    for _ in range(100):
        entity = _draw(rng, table)
        id_ = rng.randint(1, ctx.counts[entity])
        ct, active, text = ctx.store.execute(
            "SELECT ct, active, doc FROM entities WHERE realm_id = ? AND entity = ? AND id = ?",
            (ctx.realm.realm_id, entity, id_),
        ).fetchone()
        if active != 0:
            return entity, id_, int(ct), json.loads(text)
    raise RuntimeError("no active record to attach a file to")


# entry point ----------------------------------------------------------------------------------------
def _pools(ctx: Context) -> None:
    """Who may appear on a transaction of a given day; customers trading longer trade more."""
    ctx.customer_pool = Pool(ctx.customers, skew=1.3)
    ctx.vendor_pool = Pool(ctx.vendors, skew=1.3)
    ctx.item_pool = Pool(ctx.items)
    ctx.stock_pool = Pool([i for i in ctx.items if i.type in ("Inventory", "NonInventory") and i.cost])
    ctx.service_pool = Pool([i for i in ctx.items if i.type == "Service"])
    ctx.employee_pool = Pool(ctx.employees)


def populate(
    store: Store,
    realm: Realm,
    profile: str,
    seed: int,
    *,
    anchor: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill `realm` (already added to the store) with a generated company; returns rows per entity."""
    if profile not in PROFILES:
        raise ValueError(f"unknown company profile {profile!r}; expected one of: {', '.join(PROFILES)}")
    # by default the history ends yesterday: a company made today has nothing later than now (QBO never
    # stamps the future), and the same seed on the same day makes the same company
    anchor = anchor or company_today(realm.tz) - timedelta(days=1)
    ctx = Context(store, realm, PROFILES[profile], seed, anchor, progress)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived acyclic dicts: refcounting frees them, cycle scans only cost time
    try:
        _generate(ctx)
    finally:
        if collecting:
            gc.enable()
    return dict(sorted(ctx.counts.items()))


def _generate(ctx: Context) -> None:
    _plan_accounts(ctx)
    _company(ctx)
    _settings_lists(ctx)
    _tracking_lists(ctx)
    _items(ctx)
    _employees(ctx)
    _customers(ctx)
    _vendors(ctx)
    ctx.progress("master data done")
    _pools(ctx)
    p = ctx.profile
    _invoices(ctx)
    _bills(ctx)
    if ctx.customer_pool and ctx.item_pool:
        _stream(ctx, "SalesReceipt", p.sales_receipts, _sales_receipt(ctx))
        _stream(ctx, "CreditMemo", p.credit_memos, _credit_memo(ctx))
        _stream(ctx, "RefundReceipt", p.refund_receipts, _refund_receipt(ctx))
    _stream(ctx, "JournalEntry", p.journal_entries, _journal_entry(ctx))
    _stream(ctx, "Deposit", p.deposits, _deposit(ctx))
    if ctx.vendor_pool:
        _stream(ctx, "Purchase", p.purchases, _purchase(ctx))
        _stream(ctx, "VendorCredit", p.vendor_credits, _vendor_credit(ctx))
    _stream(ctx, "Transfer", p.transfers, _transfer(ctx))
    if ctx.employee_pool and ctx.customer_pool:
        _stream(ctx, "TimeActivity", p.time_activities, _time_activity(ctx))
    _budgets(ctx)
    _write_parties(ctx)
    _write_accounts(ctx)
    _attachables(ctx)  # last: they point at records of every kind
    ctx.progress("done")
