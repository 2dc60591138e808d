"""Pure delivery core of the notifications service: templates and their rendering, SMS encoding,
statuses, retries, channel choice, rate limits, unsubscribe tokens and delivery reports.

Nothing here touches the network, the database or the broker; the adapters
(``guichet_notifications.adapters``) and the application build on it. French dates and
amounts come from the chassis (``guichet_common.clock``, ``guichet_common.money``).
"""
