"""Table schemas and their registry: ``schema(table_id)`` and ``TABLES``.

Ids follow the C12.19 TABLE_IDB layout used by OSGP: BT n = n, ET n = 2048 + n, and the pending copy
of a table = id + 4096 (its image is a 6-byte PED followed by the table) [OPG p.7-8].
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cache

from .dimensions import Dimensions
from .types import PED, Field, Layout, Rest, TableCheck
from .values import UnknownTable

ET_BASE = 2048
PENDING_BASE = 4096


def table_label(table_id: int) -> str:
    """'BT23', 'ET04', 'BT4150' (the pending copy of BT54), 'ET4143' (pending ET47 = 6191)."""
    if table_id >= PENDING_BASE + ET_BASE:
        return f"ET{table_id - ET_BASE}"
    if table_id >= PENDING_BASE:
        return f"BT{table_id}"
    return f"ET{table_id - ET_BASE:02d}" if table_id >= ET_BASE else f"BT{table_id:02d}"


class TableSchema(Layout):
    """One table: metadata plus the layout that decodes, encodes, sizes, validates and locates.

    ``source`` cites where the layout comes from; ``confidence`` is "documented" when a cited source
    gives the layout, "inferred" when it is reconstructed (see ``notes`` and the assumptions register).
    ``open_ended`` tables end in a REST field that keeps any bytes beyond the known part; their
    ``size()`` is the size of the known part.
    """

    def __init__(self, table_id: int, title: str, fields: Sequence[Field], *, source: str, access: str,
                 notes: str = "", confidence: str = "documented", checks: Sequence[TableCheck] = (),
                 name: str | None = None, self_role: str | None = None) -> None:
        name = name or table_label(table_id)
        super().__init__(name, fields, self_role=self_role or name.lower(), checks=checks)
        self.id, self.title, self.source, self.access = table_id, title, source, access
        self.notes, self.confidence = notes, confidence

    @property
    def open_ended(self) -> bool:
        return bool(self.fields) and isinstance(self.fields[-1].type, Rest)

    @property
    def is_pending(self) -> bool:
        return self.id >= PENDING_BASE

    def request_span(self, path: str, dims: Dimensions) -> tuple[int, int]:
        """(offset, count) to put in a partial read/write of the field at ``path``.

        For a pending table the offset is that of the base table and the count includes the 6-byte
        PED, which the device sends first [OPG p.9].
        """
        off, size = self.field_offset(path, dims)
        if self.is_pending:
            return (0, 6) if path.strip() == "ped" else (off - 6, size + 6)
        return off, size

    def __repr__(self) -> str:
        return f"<TableSchema {self.name} {self.title!r}>"


class _Registry(Mapping[int, TableSchema]):
    """Read-only id -> schema mapping of the base tables (pending ids resolve through schema())."""

    def __init__(self) -> None:
        self._by_id: dict[int, TableSchema] = {}

    def add(self, s: TableSchema) -> TableSchema:
        if s.id in self._by_id:
            raise ValueError(f"table {s.name} registered twice")
        self._by_id[s.id] = s
        return s

    def __getitem__(self, table_id: int) -> TableSchema:
        return self._by_id[table_id]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._by_id))

    def __len__(self) -> int:
        return len(self._by_id)


TABLES = _Registry()


def table(table_id: int, title: str, fields: Sequence[Field], **meta: object) -> TableSchema:
    """Declare and register a table schema."""
    return TABLES.add(TableSchema(table_id, title, fields, **meta))  # type: ignore[arg-type]


@cache
def pending_schema(base_id: int) -> TableSchema:
    """Schema of the pending copy of ``base_id``: a PED followed by the base table's fields."""
    base = schema(base_id)
    return TableSchema(base_id + PENDING_BASE, f"Pending {base.name} ({base.title})",
                       (Field("ped", PED),) + base.fields, source=f"OPG p.8-10; {base.source}",
                       access="written with a PED; activated at the PED time or by BP12/BP13 [OPG p.8-12]",
                       notes=base.notes, confidence=base.confidence, checks=base.checks,
                       self_role=base.self_role)


def schema(table_id: int) -> TableSchema:
    """The schema of a table id (pending ids, base + 4096, included)."""
    if table_id in TABLES:
        return TABLES[table_id]
    if PENDING_BASE <= table_id < 2 * PENDING_BASE and table_id - PENDING_BASE in TABLES:
        return pending_schema(table_id - PENDING_BASE)
    raise UnknownTable(f"no schema for table {table_id} ({table_label(table_id)})")
