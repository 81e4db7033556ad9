"""The state one generation run shares, in one object, so that every builder is a plain function of it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import date

from sandbox.generator.profiles import Profile
from sandbox.generator.records import Item, Party, Pool, Term, Worker
from sandbox.generator.sales_tax import california_tax
from sandbox.generator.timeline import HOUR, Clock
from sandbox.generator.values import Doc, Ref
from sandbox.rules.names import name_key
from sandbox.store import Realm, Store, dumps
from sources.quickbooks.catalog import ENTITIES


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
        self.tax = california_tax()
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
        named = name_key(entity, {})[0] is not None
        names: list[tuple[str, str, int]] = []
        rows = []
        for doc, ct, lut in docs:
            id_ = int(doc["Id"])
            rows.append(
                (id_, float(lut), float(ct), doc.get("Active", True) if has_active else None, dumps(doc))
            )
            if named:
                namespace, name = name_key(entity, doc)
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

    def fill_pools(self) -> None:
        """Who may appear on a transaction of a given day; customers trading longer trade more."""
        self.customer_pool = Pool(self.customers, skew=1.3)
        self.vendor_pool = Pool(self.vendors, skew=1.3)
        self.item_pool = Pool(self.items)
        self.stock_pool = Pool([i for i in self.items if i.type in ("Inventory", "NonInventory") and i.cost])
        self.service_pool = Pool([i for i in self.items if i.type == "Service"])
        self.employee_pool = Pool(self.employees)
