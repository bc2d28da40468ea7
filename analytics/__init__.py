"""Carebot's analytics store: schema, event writer, demo data, reports and models."""
