"""The row each patient gives (both engines write the same Parquet schema), and the columns
of each output file."""

from __future__ import annotations

import pyarrow as pa

from service.find.patient import FINDINGS

ROW_SCHEMA = pa.schema(
    [
        ("patient_key", pa.string()),
        ("organisation", pa.string()),
        ("in_scope", pa.bool_()),
        ("opioid", pa.bool_()),
        ("total_ome_mg_per_day", pa.float64()),
        ("total_status", pa.string()),
        ("complete", pa.bool_()),
        ("unresolved_count", pa.int64()),
        ("unresolved_medicines", pa.string()),
        *((name, pa.bool_()) for name in FINDINGS),
        ("previous_total_ome_mg_per_day", pa.float64()),
        ("previous_total_status", pa.string()),
        ("support_tier", pa.int64()),
        ("support_tier_name", pa.string()),
        ("risk_factors", pa.string()),
        ("medicines", pa.string()),
        ("not_checked", pa.string()),
        ("trend", pa.string()),
        ("error", pa.string()),
    ]
)
#: Internal columns: the organisation counts and the trend are made from them.
INTERNAL = ("in_scope", "trend")
PATIENT_COLUMNS = tuple(n for n in ROW_SCHEMA.names if n not in INTERNAL)

_SPARK_TYPES = {pa.string(): "string", pa.bool_(): "boolean", pa.float64(): "double"}


def spark_ddl() -> str:
    """The schema as Spark DDL (``patient_key string, ...``)."""
    return ", ".join(f"{f.name} {_SPARK_TYPES.get(f.type, 'bigint')}" for f in ROW_SCHEMA)
