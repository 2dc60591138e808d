"""The demarches service's SQLAlchemy queries, one module per aggregate."""
