"""Carebot's language understanding: intents, entities, sentiment and PII redaction.

Knows nothing of HTTP or SQL. The public surface is :class:`nlp.pipeline.NLU`
(``parse`` / ``parse_batch``) and the dataclasses in :mod:`nlp.types`.
"""
