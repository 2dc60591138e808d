"""Pure delivery core of the notifications service: templates, SMS encoding,
French formatting, statuses, retries, channel choice and rate limits.

Nothing here touches the network, the database or the broker; the adapters
(``guichet_notifications.adapters``) and the service wiring build on it.
"""
