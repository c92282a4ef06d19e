"""The database adapter: engine, the declarative base, sessions and migrations."""
