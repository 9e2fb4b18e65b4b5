"""Email bodies from the Jinja2 files under oms_notification/templates/<locale>/.

Each template has three files: `<name>.subject.txt`, `<name>.txt` (plain part) and `<name>.html`.
Autoescaping is on for the .html files only: customer names and addresses come from storefronts
and must never become markup; the plain-text part and subject must stay verbatim.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from oms_notification.domain.formatting import format_money
from oms_notification.domain.model import RenderedEmail, Template

LOCALES = ("en", "ru")
FALLBACK_LOCALE = "en"


class TemplateRenderer:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("oms_notification", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,  # a typo in a template fails loudly, not as an empty string
            keep_trailing_newline=True,
            # The templates ship with the package and never change under a running process: without
            # this every `get_template` (three per email) asks the file system whether they did.
            auto_reload=False,
        )
        self.env.filters["money"] = format_money

    def render(self, template: Template, locale: str, context: dict[str, Any]) -> RenderedEmail:
        locale = locale if locale in LOCALES else FALLBACK_LOCALE
        values = {**context, "locale": locale}

        def part(suffix: str) -> str:
            return self.env.get_template(f"{locale}/{template.value}{suffix}").render(values)

        # Header injection guard: a subject is one line whatever the data.
        subject = " ".join(part(".subject.txt").split())
        return RenderedEmail(subject=subject, text=part(".txt"), html=part(".html"))
