"""Server-rendered pages (thin: querysets from access rules, logic in models and services)."""
