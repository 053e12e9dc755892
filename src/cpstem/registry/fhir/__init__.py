"""FHIR R4 exchange: export a child (Bundle) or a site (NDJSON), import them back.

Codes and URLs: ``codes.toml`` (each with its source); the mapping: docs/fhir.md.
"""
