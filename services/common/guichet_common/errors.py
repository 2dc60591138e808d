"""Errors a service raises to answer a caller, as RFC 9457 problems.

A service raises a ``GuichetError``; the RPC layer sends its ``problem()``
back to the gateway, which answers ``application/problem+json`` with the same
stable ``type`` and French ``detail``. Anything else is an internal error and
its text never leaves the service.
"""
from __future__ import annotations

PROBLEM_BASE = "urn:guichet:problem:"


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


class GuichetError(Exception):
    slug = "error"
    status = 400
    title = "Requête invalide"
    detail = "La requête ne peut pas être traitée."

    def __init__(self, detail: str | None = None, *, errors: dict | None = None, slug: str | None = None,
                 status: int | None = None, title: str | None = None, **extra):
        self.detail = detail or self.detail
        self.errors = errors
        self.slug = slug or self.slug
        self.status = status or self.status
        self.title = title or self.title
        self.extra = extra
        super().__init__(self.detail)

    def problem(self) -> dict:
        body = {"type": problem_type(self.slug), "title": self.title, "status": self.status, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class InvalidInput(GuichetError):
    slug, status, title = "validation", 422, "Données invalides"
    detail = "Certaines informations saisies sont invalides."


class NotFound(GuichetError):
    slug, status, title = "not-found", 404, "Introuvable"
    detail = "La ressource demandée n'existe pas."


class Unauthenticated(GuichetError):
    slug, status, title = "unauthenticated", 401, "Authentification requise"
    detail = "Vous devez être connecté pour accéder à cette page."


class Forbidden(GuichetError):
    slug, status, title = "forbidden", 403, "Accès refusé"
    detail = "Vous n'avez pas les droits nécessaires pour cette action."


class Conflict(GuichetError):
    slug, status, title = "conflict", 409, "Conflit"
    detail = "L'opération est en conflit avec l'état actuel."


class TooManyRequests(GuichetError):
    slug, status, title = "too-many-requests", 429, "Trop de tentatives"
    detail = "Trop de tentatives. Veuillez réessayer plus tard."


class ServiceUnavailable(GuichetError):
    slug, status, title = "service-unavailable", 503, "Service indisponible"
    detail = "Le service est momentanément indisponible. Veuillez réessayer dans quelques instants."


class ServiceTimeout(GuichetError):
    slug, status, title = "service-timeout", 504, "Délai dépassé"
    detail = "Le service n'a pas répondu à temps. Veuillez réessayer dans quelques instants."


class InternalError(GuichetError):
    slug, status, title = "internal", 500, "Erreur interne"
    detail = "Une erreur inattendue est survenue. L'équipe technique a été prévenue."


class PermanentMessageError(Exception):
    """A message that no retry can fix (bad envelope, payload its contract rejects): dead-letter it now."""


class FormattingError(ValueError):
    """A value that cannot be formatted or parsed (a date, an amount), with a French message saying what was
    expected: raised by :mod:`.clock` and :mod:`.money`."""
