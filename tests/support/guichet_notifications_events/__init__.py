"""Test-only: the notifications service subscribed to an event of a service that does not exist yet.

The demarches, billing and activities services come in later issues. This package registers a
test-only event contract (``fr.guichet.demarchesfake.demande.submitted.v1``) and runs the real
notifications service class extended with one event handler, to prove through the real broker
that an event from another service produces exactly one email and a duplicate none.
"""
SERVICE = "guichet_notifications_events.service:NotificationsWithEvents"
