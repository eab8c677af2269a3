"""Results: the versioned schema, the store (SQLite default, any SQLAlchemy URL), exporters."""
