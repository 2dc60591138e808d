"""Errors of the demarches service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError


class DemarchesError(GuichetError):
    """Base of the demarches service's problems: each subclass sets its slug, status, title and French detail."""
