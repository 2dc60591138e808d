"""The billing service's SQLAlchemy queries, one module per aggregate."""
