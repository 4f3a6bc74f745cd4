"""The store: the only place that knows SQL (SQLAlchemy 1.4 in 2.0 style)."""
