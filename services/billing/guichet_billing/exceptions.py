"""Errors of the billing service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError


class BillingError(GuichetError):
    """Base of the billing service's problems: each subclass sets its slug, status, title and French detail."""
