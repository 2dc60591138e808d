"""Guichet activities service: Kiosque Famille: activities, calendars, enrolments, reservations."""
