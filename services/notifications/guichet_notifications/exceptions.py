"""Errors of the notifications service, as Guichet problems (stable type, French detail)."""
from guichet_common.errors import GuichetError  # noqa: F401

# Delivery reports: the same problems in the gateway (checked there first) and here.
from guichet_common.smsreports import SmsReportForbidden, UnknownSmsProvider  # noqa: F401


class InvalidUnsubscribeLink(GuichetError):
    """A one-click unsubscribe token that is malformed, altered or signed with an unknown secret."""

    slug, status, title = "unsubscribe-link-invalid", 400, "Lien de désinscription invalide"
    detail = ("Ce lien de désinscription n'est pas valide. Vérifiez qu'il a été copié en entier, ou gérez vos "
              "préférences de notification depuis votre espace citoyen.")


class ExpiredUnsubscribeLink(InvalidUnsubscribeLink):
    """Correctly signed, but older than ``notifications.unsubscribe_link_days``."""

    slug, title = "unsubscribe-link-expired", "Lien de désinscription expiré"
    detail = ("Ce lien de désinscription a expiré. Vous pouvez choisir de ne plus recevoir les messages non "
              "essentiels depuis votre espace citoyen, rubrique préférences de notification.")
