"""People's and companies' names, streets and phone numbers: plausible, unicode included, never repeated
in a uniqueness namespace."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence

from sandbox.generator.context import Context

# fmt: off
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
# fmt: on


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())[:24]


def phone(rng: random.Random) -> dict[str, str]:
    return {"FreeFormNumber": f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}"}


def address(ctx: Context, rng: random.Random) -> dict[str, str]:
    city, state, postal = rng.choice(CITIES)
    return {
        "Id": str(ctx.take_ids("PhysicalAddress")),
        "Line1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        "City": city,
        "CountrySubDivisionCode": state,
        "PostalCode": postal,
    }


def person_or_company(ctx: Context, rng: random.Random, trades: Sequence[str] = TRADES) -> tuple[str, ...]:
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
