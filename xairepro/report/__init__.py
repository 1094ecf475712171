"""Assemble the HTML report: executed notebooks, the reproduction table and provenance."""
from .build import build_report, provenance
from .targets import reproduction_table

__all__ = ["build_report", "provenance", "reproduction_table"]
