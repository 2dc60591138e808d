"""Guichet notifications service: Email and SMS: templates, preferences, delivery, retries."""
