"""Records named the way a person knows them, and their values in words.

The sync marts speak in ids (`inv_000012` / `12`, an item `6`, terms `3`) and line signatures
(`1|6||2.000000|35.000000|70.00|NON|`). The `Directory` reads, from the staging models, what a reader
needs instead: each record's name or document number, its customer or vendor, dates and the money at
stake, the realm's company and currency, and the names behind the ids a value may hold. Reading is
best-effort: a staging model that is missing leaves ids on the page, it never stops the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pipelines.mapping.rendering import LINE_KEY, rendered
from pipelines.report import formatting as fmt
from pipelines.runtime.warehouse_sql import WarehouseSQL

# the records the report names: every one the marts mention
WANTED = (
    "SELECT entity, tenant_id, realm_id, platform_id, qbo_id FROM sync.sync_drift "
    "UNION SELECT entity, tenant_id, realm_id, platform_id, qbo_id FROM sync.sync_conflicts "
    "UNION SELECT entity, tenant_id, realm_id, platform_id, qbo_id FROM sync.sync_candidate_matches "
    "WHERE is_best "
    "UNION SELECT entity, tenant_id, realm_id, platform_id, qbo_id FROM sync.sync_issues"
)
# per entity, what names a record and what is at stake: report column -> staging column (either side)
RECORD_COLUMNS: dict[str, dict[str, str]] = {
    "Customer": {"name": "display_name", "balance": "balance", "currency": "currency"},
    "Vendor": {"name": "display_name", "balance": "balance", "currency": "currency"},
    "Item": {"name": "name"},
    "Invoice": {
        "number": "doc_number",
        "party": "customer",
        "txn_date": "txn_date",
        "due_date": "due_date",
        "total": "total_amount",
        "balance": "balance",
        "currency": "currency",
    },
    "Bill": {
        "number": "doc_number",
        "party": "vendor",
        "txn_date": "txn_date",
        "due_date": "due_date",
        "total": "total_amount",
        "balance": "balance",
        "currency": "currency",
    },
    "Payment": {
        "number": "reference_number",
        "party": "customer",
        "txn_date": "txn_date",
        "total": "total_amount",
        "currency": "currency",
    },
}
PARTY_TABLE = {"Invoice": "customers", "Bill": "vendors", "Payment": "customers"}
SIDES = {
    "platform": ("stg_platform__", "tenant_id", "platform_id"),
    "qbo": ("stg_qbo__", "realm_id", "qbo_id"),
}
# the names behind ids a value holds: kind -> (QBO staging model, column)
NAMES = {
    "Customer": ("customers", "display_name"),
    "Vendor": ("vendors", "display_name"),
    "Item": ("items", "name"),
    "Invoice": ("invoices", "doc_number"),
    "Term": ("terms", "name"),
    "Account": ("accounts", "name"),
}
LINE_LABELS = {LINE_KEY: "Line", "unit_price": "Unit price", "quantity": "Qty"}
TRANSACTIONS = ("Invoice", "Bill", "Payment")


@dataclass
class Realm:
    company: str | None
    currency: str | None


@dataclass
class Record:
    """One record as the report names it, from both sides (platform first for what the platform
    writes, QBO first for what QBO computes, such as the balance)."""

    entity: str
    tenant_id: str | None
    realm_id: str | None
    platform_id: str | None
    qbo_id: str | None
    name: str | None = None
    number: str | None = None
    party: str | None = None
    txn_date: date | None = None
    due_date: date | None = None
    total: Decimal | None = None
    qbo_total: Decimal | None = None  # when it differs from the platform's
    balance: Decimal | None = None
    currency: str | None = None

    @property
    def label(self) -> str:
        """'Invoice 1042 — Acme Ltd', 'Bill 75604 — Cedar Supply', or the customer's own name (spacing
        tidied: a name is told apart by its words, not its blanks)."""
        number, party, name = (
            " ".join(str(v).split()) if v else "" for v in (self.number, self.party, self.name)
        )
        if self.entity in TRANSACTIONS:
            head = f"{self.entity} {number}" if number else self.entity
            if party:
                return f"{head} — {party}"
            if number:
                return head
            return f"{self.entity} {self.platform_id or self.qbo_id or '?'}"
        return name or str(self.platform_id or self.qbo_id or "?")

    @property
    def ids(self) -> str:
        """Both ids, for finding the record in either system."""
        parts = [
            f"platform {self.platform_id}" if self.platform_id else "",
            f"QBO {self.qbo_id}" if self.qbo_id else "",
        ]
        return " · ".join(p for p in parts if p)

    def money(self, value: Any) -> str:
        return fmt.money(value, self.currency)

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The money at stake and the dates, formatted, for the page."""
        out: list[tuple[str, str]] = []
        if self.total is not None:
            total = self.money(self.total)
            if self.qbo_total is not None:
                total += f" (QBO {self.money(self.qbo_total)})"
            out.append(("Total", total))
        if self.balance is not None:
            out.append(("Balance", self.money(self.balance)))
        if self.txn_date is not None:
            out.append(("Date", fmt.day(self.txn_date)))
        if self.due_date is not None:
            out.append(("Due", fmt.day(self.due_date)))
        return out


@dataclass
class Directory:
    realms: dict[str, Realm] = field(default_factory=dict)
    names: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, realm, QBO id)
    sides: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)

    def currency(self, realm_id: str | None) -> str | None:
        realm = self.realms.get(realm_id or "")
        return realm.currency if realm else None

    def record(
        self,
        entity: str,
        tenant_id: str | None,
        realm_id: str | None,
        platform_id: str | None,
        qbo_id: str | None,
    ) -> Record:
        p = self.sides.get(("platform", entity, tenant_id or "", platform_id or ""), {})
        q = self.sides.get(("qbo", entity, realm_id or "", qbo_id or ""), {})

        def first(name: str, *sides: dict[str, Any]) -> Any:
            return next((s[name] for s in sides if s.get(name) not in (None, "")), None)

        total, qbo_total = first("total", p, q), q.get("total")
        return Record(
            entity,
            tenant_id,
            realm_id,
            platform_id,
            qbo_id,
            name=first("name", p, q),
            number=first("number", p, q),
            party=first("party", p, q),
            txn_date=fmt.as_date(first("txn_date", p, q)),
            due_date=fmt.as_date(first("due_date", p, q)),
            total=fmt.decimal(total),
            qbo_total=fmt.decimal(qbo_total) if qbo_total is not None and total != qbo_total else None,
            balance=fmt.decimal(first("balance", q, p)),
            currency=first("currency", p, q) or self.currency(realm_id),
        )

    def name(self, kind: str, realm_id: str | None, qbo_id: str) -> str | None:
        return self.names.get((kind, realm_id or "", qbo_id))


def read_directory(db: WarehouseSQL) -> Directory:
    """Everything the report needs to name records and values; what cannot be read is left out."""
    directory = Directory()
    columns = _columns(db)
    for realm_id, currency, company in _rows(
        db,
        "SELECT p.realm_id, p.home_currency, c.company_name FROM staging.stg_qbo__preferences AS p "
        "LEFT JOIN staging.stg_qbo__company_infos AS c ON c.realm_id = p.realm_id",
    ):
        directory.realms[realm_id] = Realm(company, currency)
    for kind, (table, column) in NAMES.items():
        if column in columns.get(f"stg_qbo__{table}", set()):
            sql = (
                f"SELECT realm_id, qbo_id, {column} FROM staging.stg_qbo__{table} WHERE {column} IS NOT NULL"
            )
            for realm_id, qbo_id, name in _rows(db, sql):
                directory.names[(kind, realm_id, qbo_id)] = str(name)
    for entity, wanted in RECORD_COLUMNS.items():
        for side, (prefix, scope, key) in SIDES.items():
            sql = _record_sql(entity, wanted, columns, prefix, scope, key)
            if sql is None:
                continue
            names = ["scope", "key", *wanted]
            for row in _rows(db, sql, [entity]):
                values = dict(zip(names, row, strict=True))
                directory.sides[(side, entity, values["scope"] or "", values["key"] or "")] = values
    return directory


def _record_sql(
    entity: str, wanted: dict[str, str], columns: dict[str, set[str]], prefix: str, scope: str, key: str
) -> str | None:
    """The records of one entity on one side that the marts mention, with the report's columns (NULL
    where that side has no such column); the party named through its own staging model."""
    table = f"{prefix}{fmt.ENTITY_PLURALS[entity]}"
    have = columns.get(table)
    if not have or scope not in have or key not in have:
        return None
    party_table = f"{prefix}{PARTY_TABLE.get(entity, '')}"
    selected = []
    join = ""
    for name, column in wanted.items():
        if column not in have:
            selected.append(f"NULL AS {name}")
        elif name == "party" and "display_name" in columns.get(party_table, set()):
            selected.append(f"party.display_name AS {name}")
            join = (
                f" LEFT JOIN staging.{party_table} AS party ON party.{scope} = r.{scope} "
                f"AND party.{key} = r.{column}"
            )
        else:
            selected.append(f"r.{column} AS {name}")
    return (
        f"WITH wanted AS ({WANTED}) SELECT r.{scope}, r.{key}, {', '.join(selected)} "
        f"FROM staging.{table} AS r{join} WHERE EXISTS (SELECT 1 FROM wanted AS w WHERE w.entity = ? "
        f"AND w.{scope} = r.{scope} AND w.{key} = r.{key})"
    )


def _columns(db: WarehouseSQL) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in _rows(
        db, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'staging'"
    ):
        found.setdefault(table, set()).add(column)
    return found


def _rows(db: WarehouseSQL, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return db.optional(sql, params or []) or []


# values in words ------------------------------------------------------------------------------------


def field_spec(entity: str, name: str) -> dict[str, Any]:
    """A field of the mapping spec as rendered (rule, link), or {} for one it does not know."""
    spec = rendered().get(entity) or {}
    return next((f for f in spec.get("fields", []) if f["name"] == name), {})


def field_order(entity: str, name: str) -> int:
    """A field's place in the spec (the line array after the fields), so a record reads top down."""
    fields = [f["name"] for f in (rendered().get(entity) or {}).get("fields", [])]
    return fields.index(name) if name in fields else len(fields)


def reference_kind(spec: dict[str, Any]) -> str | None:
    """What kind of record an id in this field names: a link's entity, terms, or an account."""
    name = spec.get("name", "")
    if spec.get("link"):
        return str(spec["link"])
    if name == "payment_terms":
        return "Term"
    if name == "account" or name.endswith("_account"):
        return "Account"
    return None


def typed(spec: dict[str, Any], raw: Any, realm_id: str | None, directory: Directory) -> Any:
    """A value as the files hold it: numbers and dates typed, yes/no, names for ids (else the id)."""
    if raw is None or raw == "":
        return None
    rule = spec.get("rule")
    if rule in ("money", "number"):
        return fmt.decimal(raw) if fmt.decimal(raw) is not None else raw
    if rule == "date":
        return fmt.as_date(raw) or raw
    if rule == "bool":
        return fmt.yes_no(raw) or raw
    kind = reference_kind(spec)
    if kind is not None:
        return directory.name(kind, realm_id, str(raw)) or raw
    return raw


def shown(
    spec: dict[str, Any], raw: Any, realm_id: str | None, currency: str | None, directory: Directory
) -> str:
    """A value as the page shows it: money in the currency, dates in words, names for ids."""
    value = typed(spec, raw, realm_id, directory)
    if value is None:
        return fmt.DASH
    rule = spec.get("rule")
    if rule == "money" or (rule == "number" and spec.get("name") in ("unit_price", "purchase_cost")):
        return fmt.money(value, currency)
    if rule == "number":
        return fmt.number(value)
    if rule == "date":
        return fmt.day(value)
    return str(value)


# line arrays ----------------------------------------------------------------------------------------


@dataclass
class LineCell:
    platform: str
    qbo: str
    changed: bool


@dataclass
class LineRow:
    key: str
    cells: list[LineCell]
    only_in: str | None  # "platform" or "QBO" when the other side has no such line


@dataclass
class LineDiff:
    """An invoice's or bill's lines on both sides, cell by cell, with the cells that differ marked."""

    columns: list[str]
    rows: list[LineRow]

    @property
    def changes(self) -> str:
        """The differences in one line of text, for the files: `Line 1: Qty 2 (platform) / 1 (QBO)`."""
        out = []
        for row in self.rows:
            if row.only_in:
                out.append(f"{self.columns[0]} {row.key}: only in {row.only_in}")
                continue
            cells = [
                f"{name} {cell.platform} (platform) / {cell.qbo} (QBO)"
                for name, cell in zip(self.columns[1:], row.cells[1:], strict=True)
                if cell.changed
            ]
            if cells:
                out.append(f"{self.columns[0]} {row.key}: {', '.join(cells)}")
        return "; ".join(out)

    def text(self, side: str) -> str:
        """One side's lines as text, a line each, for the files."""
        out = []
        for row in self.rows:
            values = [c.platform if side == "platform" else c.qbo for c in row.cells]
            if all(v == fmt.DASH for v in values[1:]):
                continue
            out.append(
                " · ".join(
                    f"{name} {value}"
                    for name, value in zip(self.columns, values, strict=True)
                    if value != fmt.DASH
                )
            )
        return "\n".join(out)


def line_fields(entity: str) -> list[dict[str, Any]]:
    """The line array's key and fields in the spec's order: the order of a signature's parts."""
    lines = (rendered().get(entity) or {}).get("lines")
    if not lines:
        return []
    key = {**lines["key"], "rule": "exact"}
    return [key, *lines["fields"]]


def parse_lines(signature: str | None, count: int, text_at: int | None) -> dict[str, list[str]] | None:
    """A line signature (`key|f1|f2...; key|...`) as {key: [key, f1, f2, ...]}; None when it cannot be
    read safely. A description holding "; " or "|" is put back together (`text_at` is its position)."""
    if not signature:
        return {}
    chunks: list[str] = []
    pending = ""
    for chunk in signature.split("; "):
        pending = f"{pending}; {chunk}" if pending else chunk
        if pending.count("|") >= count - 1:
            chunks.append(pending)
            pending = ""
    if pending:
        return None
    lines: dict[str, list[str]] = {}
    for chunk in chunks:
        parts = chunk.split("|")
        extra = len(parts) - count
        if extra > 0 and text_at is not None:
            parts = [
                *parts[:text_at],
                "|".join(parts[text_at : text_at + extra + 1]),
                *parts[text_at + extra + 1 :],
            ]
        if len(parts) != count:
            return None
        lines[parts[0]] = parts
    return lines


def line_diff(
    entity: str,
    platform_signature: str | None,
    qbo_signature: str | None,
    realm_id: str | None,
    currency: str | None,
    directory: Directory,
) -> LineDiff | None:
    """Both sides' lines as one table, matched by line key; None if a signature cannot be read."""
    fields = line_fields(entity)
    if not fields:
        return None
    text_at = next((i for i, f in enumerate(fields) if f.get("rule") == "text"), None)
    platform = parse_lines(platform_signature, len(fields), text_at)
    qbo = parse_lines(qbo_signature, len(fields), text_at)
    if platform is None or qbo is None:
        return None
    keys = sorted(set(platform) | set(qbo), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
    empty = [""] * len(fields)
    # a column empty on every line of both sides is left out (tax codes, service dates, ...)
    used = [
        i
        for i in range(len(fields))
        if i == 0 or any((platform.get(k, empty)[i] or qbo.get(k, empty)[i]) for k in keys)
    ]
    key_label = "Invoice" if fields[0].get("link") == "Invoice" else "Line"
    columns = [
        key_label if i == 0 else LINE_LABELS.get(fields[i]["name"], fmt.label(fields[i]["name"]))
        for i in used
    ]
    rows = []
    for k in keys:
        p, q = platform.get(k), qbo.get(k)
        cells = []
        for i in used:
            spec = fields[i]
            p_raw, q_raw = (p or empty)[i], (q or empty)[i]
            cells.append(
                LineCell(
                    shown(spec, p_raw, realm_id, currency, directory) if p else fmt.DASH,
                    shown(spec, q_raw, realm_id, currency, directory) if q else fmt.DASH,
                    bool(p and q and p_raw != q_raw),
                )
            )
        rows.append(
            LineRow(
                cells[0].platform if p else cells[0].qbo,
                cells,
                None if p and q else ("platform" if p else "QBO"),
            )
        )
    return LineDiff(columns, rows)
