"""Errors of the notifications service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError  # noqa: F401
