"""Shared test factories of the notifications service: the shipped templates, a renderer for a town,
the application on a SQLite file with recording clients, a contact, a requested notification."""
from __future__ import annotations

from guichet_notifications.adapters.template_files import load_layouts, load_templates
from guichet_notifications.domain.rendering import TemplateRenderer
from guichet_notifications.domain.templates import TemplateCatalog, TownBranding

TOWN = TownBranding(name="Ville de Test", phone="03 20 00 00 00")


def catalog() -> TemplateCatalog:
    """The templates shipped with the service."""
    return load_templates()


def renderer(branding: TownBranding = TOWN, **options) -> TemplateRenderer:
    """A renderer of the shipped layouts for ``branding`` (options: ``sms_transliterate``, ``sms_max_segments``)."""
    return TemplateRenderer(branding, load_layouts(), **options)
