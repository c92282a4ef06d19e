"""The HTTP adapter: the API under /api/v1 (and later the members' portal)."""
