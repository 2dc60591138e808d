"""The templates: recorded in the database with their versions, listed and previewed for agents."""
from __future__ import annotations

import json

from sqlalchemy.exc import IntegrityError

from .. import repository
from ..domain.templates import Template, TemplateError, UnknownTemplate
from ..exceptions import PreviewImpossible, TemplateNotFound
from .context import Context

SEED_ATTEMPTS = 3


def _content(template: Template) -> str:
    return json.dumps({"meta": {"version": template.version, "channels": template.channels,
                                "essential": template.essential, "security": template.security,
                                "required": template.required, "optional": template.optional},
                       "sources": dict(template.sources)}, ensure_ascii=False, separators=(",", ":"), default=str)


class Templates:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def _record_versions(self, session) -> dict[str, int]:
        latest = repository.latest_template_versions(session)
        versions = {}
        for name in self.ctx.catalog:
            template = self.ctx.catalog[name]
            row = latest.get(name)
            if row is not None and row.checksum == template.checksum:
                versions[name] = row.version
                continue
            version = max(template.version, row.version + 1 if row is not None else 1)
            repository.add_template_version(session, name=name, version=version, checksum=template.checksum,
                                            created_at=self.ctx.clock(), content=_content(template))
            versions[name] = version
        return versions

    def seed(self) -> dict[str, int]:
        """Record each template in the database; a new version when its checksum changed."""
        for _attempt in range(SEED_ATTEMPTS):
            try:
                with self.ctx.database.unit_of_work() as uow:
                    versions = self._record_versions(uow.session)
                    uow.commit()
                self.ctx.versions = versions
                return versions
            except IntegrityError:  # another replica seeded at the same time
                continue
        raise RuntimeError("could not seed the templates")

    def _describe(self, template: Template) -> dict:
        return {"version": self.ctx.version(template.name), "essential": template.essential,
                "security": template.security, "channels": list(template.channels),
                "required": list(template.required), "optional": list(template.optional)}

    def summary(self) -> list[dict]:
        return [{"name": name, "description": self.ctx.catalog[name].description,
                 **self._describe(self.ctx.catalog[name])} for name in self.ctx.catalog]

    def preview(self, name: str, personalisation: dict | None, channel: str | None = None) -> dict:
        """``name`` rendered with ``personalisation`` (nothing is sent)."""
        try:
            template = self.ctx.catalog.get_template(name)
        except UnknownTemplate:
            raise TemplateNotFound(name) from None
        channel = channel or template.channels[0]
        try:
            rendered = self.ctx.renderer.render(template, channel, personalisation or {},
                                                unsubscribe_url=self.ctx.unsubscribe.preview_link())
        except TemplateError as error:
            raise PreviewImpossible(error.detail) from None
        base = {"template": name, "channel": channel, **self._describe(template)}
        if channel == "email":
            return {**base, "subject": rendered.subject, "text": rendered.text, "html": rendered.html}
        return {**base, "text": rendered.text, "encoding": rendered.info.encoding,
                "segments": rendered.info.segments, "characters": len(rendered.text)}
