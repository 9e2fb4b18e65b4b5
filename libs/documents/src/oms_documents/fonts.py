"""Fonts with Cyrillic for every document: DejaVu, found on the machine and registered once."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR = "OmsDejaVuSans"
BOLD = "OmsDejaVuSans-Bold"
MONO = "OmsDejaVuSansMono"

# Where Debian (fonts-dejavu-core, installed by deploy/local/tools.sh), Fedora, Alpine and macOS
# Homebrew keep them. OMS_DOCUMENTS_FONT_DIR comes first when set.
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/local/share/fonts",
    "/opt/homebrew/share/fonts",
)
FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf", MONO: "DejaVuSansMono.ttf"}


class FontsMissing(RuntimeError):
    """The DejaVu fonts are not installed: no document can be rendered with Cyrillic text."""


def font_dirs() -> list[Path]:
    dirs = [Path(os.environ["OMS_DOCUMENTS_FONT_DIR"])] if os.environ.get("OMS_DOCUMENTS_FONT_DIR") else []
    return dirs + [Path(d) for d in FONT_DIRS]


def find_font(filename: str) -> Path:
    for directory in font_dirs():
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in font_dirs())
    raise FontsMissing(
        f"font {filename} not found (searched {searched}); install fonts-dejavu-core "
        "(deploy/local/tools.sh does) or point OMS_DOCUMENTS_FONT_DIR at a folder holding the DejaVu TTF files"
    )


@cache
def register_fonts() -> None:
    """Register the DejaVu faces with reportlab (once per process); FontsMissing when absent."""
    for name, filename in FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(find_font(filename))))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
