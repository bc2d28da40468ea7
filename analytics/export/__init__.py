"""The redacted analytics store as files that big-data engines read as they are
(`carebot export`; docs/export.md)."""

from analytics.export.manifest import ExportError
from analytics.export.parquet import ExportSummary, TableSummary, export_parquet
from analytics.export.tables import TABLES, ExportTable

FORMATS = ("parquet",)

__all__ = ["FORMATS", "TABLES", "ExportError", "ExportSummary", "ExportTable", "TableSummary",
           "export_parquet"]
