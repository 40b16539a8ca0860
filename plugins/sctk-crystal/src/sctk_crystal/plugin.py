"""Registers the structure-aware components (filled in as they land)."""
