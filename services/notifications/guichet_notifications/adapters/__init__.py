"""Adapters (the I/O of the service): SMTP email, HTTP SMS providers, development and test-mode clients,
the template files and the development key file.

Every delivery client raises :class:`~guichet_notifications.domain.delivery.TemporaryFailure`
or :class:`~guichet_notifications.domain.delivery.PermanentFailure` and returns a
:class:`~guichet_notifications.domain.delivery.SendReceipt` on acceptance.
"""
