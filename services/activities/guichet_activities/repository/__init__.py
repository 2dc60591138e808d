"""The activities service's SQLAlchemy queries, one module per aggregate."""
