"""Errors of the accounts service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError  # noqa: F401
