"""Errors of the activities service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError


class ActivitiesError(GuichetError):
    """Base of the activities service's problems: each subclass sets its slug, status, title and French detail."""
