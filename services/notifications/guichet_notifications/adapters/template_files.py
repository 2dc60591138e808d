"""The template files shipped with the service: ``templates/<name>/`` and the shared ``templates/_layouts/``.

Reads ``meta.yaml`` and the sources of each template and hands them to the domain
(:func:`~guichet_notifications.domain.templates.template_from_meta`), which checks them; the layouts
are returned as ``{file name: source}`` for the renderer. A template whose files are wrong stops the
service at start-up (:class:`~guichet_notifications.domain.templates.TemplateDefinitionError`).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from ..domain.templates import PARTS, Template, TemplateCatalog, TemplateDefinitionError, template_from_meta

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LAYOUTS = "_layouts"


def load_template(directory: Path) -> Template:
    directory = Path(directory)
    meta_path = directory / "meta.yaml"
    if not meta_path.is_file():
        raise TemplateDefinitionError(f"{directory}: meta.yaml is missing")
    try:
        with meta_path.open(encoding="utf-8") as fh:
            meta_data = yaml.safe_load(fh)
    except yaml.YAMLError as error:
        raise TemplateDefinitionError(f"{meta_path}: {error}") from None
    sources = {}
    for part, filename in PARTS.items():
        path = directory / filename
        if path.is_file():
            sources[part] = path.read_text(encoding="utf-8")
    template = template_from_meta(meta_data, sources)
    if template.name != directory.name:
        raise TemplateDefinitionError(f"{directory}: meta name {template.name!r} differs from the directory name")
    return template


def load_templates(directory: Path | str | None = None) -> TemplateCatalog:
    """Every template of ``directory`` (default: the templates shipped with the service)."""
    root = Path(directory) if directory is not None else TEMPLATES_DIR
    templates = {}
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and not sub.name.startswith(("_", ".")):
            template = load_template(sub)
            templates[template.name] = template
    return TemplateCatalog(templates)


def load_layouts(directory: Path | str | None = None) -> dict[str, str]:
    """The shared layouts the email parts extend, ``{file name: source}``."""
    root = Path(directory) if directory is not None else TEMPLATES_DIR / LAYOUTS
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(root.glob("*.j2"))}
