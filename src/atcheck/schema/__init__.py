"""Lexicons as JSON Schema: load Lexicon documents, convert them, validate data, lint and diff Lexicons.

The Lexicon documents are the standard's own description of atproto data. atcheck turns each one into a JSON
Schema 2020-12 resource (``schemas/lexicons/<nsid>.json``) so that suites, property-based generators and
outside tools share one machine-readable definition. What JSON Schema cannot express (UTF-8 byte lengths,
grapheme counts, decoded ``$bytes`` lengths, the atproto string formats) is carried by ``x-lex*`` keywords
that :mod:`atcheck.schema.keywords` enforces; see ``keywords.py`` for the list.

Entry points: :func:`atcheck.schema.registry.lexicon_schema` and :func:`atcheck.schema.registry.validate`.
"""
