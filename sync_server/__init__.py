"""Sync server: central API, device registry, signed bundles, open data (to come: issue 3)."""
