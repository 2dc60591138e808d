"""Delivery clients: SMTP email, HTTP SMS providers, development and test-mode clients.

Every client raises :class:`~guichet_notifications.domain.delivery.TemporaryFailure`
or :class:`~guichet_notifications.domain.delivery.PermanentFailure` and returns a
:class:`~guichet_notifications.domain.delivery.SendReceipt` on acceptance.
"""
