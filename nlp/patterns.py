"""Patterns more than one part of Carebot recognises (entities, PII): one copy each."""

from __future__ import annotations

EMAIL = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"
# The demo shop's order numbers (A + five digits): never personal data.
ORDER_ID = r"\b[Aa]\d{5}\b"
