"""Declarative OSGP table and procedure schemas (ANSI C12.19 style).

One schema per table decodes, encodes, sizes, validates and locates fields; array sizes and optional
fields come from :class:`Dimensions` (BT00, BT01, BT21, BT50, BT61, BT71, ET11, ET54 as read from the
device, or :meth:`Dimensions.nes_default`).

    >>> from osgp.tables import schema, Dimensions
    >>> dims = Dimensions.nes_default()
    >>> schema(23).field_offset("tot_data_block.summations[4]", dims)
    (17, 4)
"""

from . import basic as _basic  # noqa: F401  (registers the tables)
from . import extended as _extended  # noqa: F401
from .basic import BT03_MFG_STATUS, split_extended_status
from .dimensions import Dimensions
from .extended import ET29_HARDWARE_OPTIONS
from .procedures import (
    C1219_RESULTS,
    LIST_CODES,
    PROCEDURES,
    ProcedureResponse,
    ProcedureSchema,
    decode_procedure_response,
    encode_procedure_initiate,
    procedure,
    result_meaning,
)
from .schema import TABLES, TableSchema, pending_schema, schema, table_label
from .types import Check, Field, FieldType, Layout
from .values import (
    AnsiDate,
    Date,
    DimensionError,
    Issue,
    LTimeDate,
    PathError,
    Ped,
    RDate,
    Record,
    Severity,
    STimeDate,
    TableError,
    Time,
    UnknownTable,
)

TableValue = Record

__all__ = [
    "AnsiDate", "BT03_MFG_STATUS", "C1219_RESULTS", "Check", "Date", "DimensionError", "Dimensions",
    "ET29_HARDWARE_OPTIONS", "Field", "FieldType", "Issue", "LIST_CODES", "LTimeDate", "Layout",
    "PROCEDURES", "PathError", "Ped", "ProcedureResponse", "ProcedureSchema", "RDate", "Record",
    "STimeDate", "Severity", "TABLES", "TableError", "TableSchema", "TableValue", "Time", "UnknownTable",
    "decode_procedure_response", "encode_procedure_initiate", "pending_schema", "procedure",
    "result_meaning", "schema", "split_extended_status", "table_label",
]
