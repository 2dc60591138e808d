"""Errors of the notifications service, as Guichet problems (stable type, French detail).

Delivery failures (a notification that cannot be sent: ``ContactUnknown``, ``Unsubscribed``, template and
address failures) are not errors of a call: they are recorded on the notification, and live in the domain
(:mod:`.domain.delivery`, :mod:`.domain.unsubscribe`, :mod:`.domain.templates`).
"""
from guichet_common.errors import Conflict, GuichetError, InvalidInput, NotFound


class NotificationNotFound(NotFound):
    def __init__(self):
        super().__init__("Notification introuvable.")


class ContentPurged(Conflict):
    """Resending needs the personalisation, emptied after the town's retention period."""

    def __init__(self):
        super().__init__("Le contenu de cette notification a été supprimé (durée de conservation dépassée) : "
                         "elle ne peut pas être renvoyée.")


class StillSending(Conflict):
    def __init__(self):
        super().__init__("Cette notification est encore en cours d'envoi.")


class TemplateNotFound(NotFound):
    def __init__(self, name: str):
        super().__init__(f"Modèle inconnu : {name}")


class PreviewImpossible(InvalidInput):
    """The personalisation given to a preview does not fit the template (its French reason)."""

    def __init__(self, detail: str):
        super().__init__(detail, errors={"personalisation": [detail]})


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


class UnknownSmsProvider(NotFound):
    """No provider of that name takes delivery reports (unknown, or without a report secret)."""

    slug, title = "sms-provider-unknown", "Fournisseur SMS inconnu"
    detail = "Aucun fournisseur SMS de ce nom n'envoie de comptes rendus de remise à cette adresse."


class SmsReportForbidden(GuichetError):
    """The report's token is missing or is not the provider's secret."""

    slug, status, title = "sms-report-forbidden", 403, "Compte rendu refusé"
    detail = "Le jeton de ce compte rendu de remise SMS est absent ou invalide."
