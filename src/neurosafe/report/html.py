"""Static HTML reports (jinja2): sections of text, tables and figures, with provenance. No JavaScript."""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

import neurosafe
from neurosafe.core.io import atomic_path

_TEMPLATE = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}.note{color:#555}
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">neurosafe {{ version }} &middot; {{ created }}</p>
{% for s in sections %}<section><h2>{{ s.heading }}</h2>
{% for p in s.paragraphs %}<p>{{ p }}</p>{% endfor %}
{% if s.table %}<table><tr>{% for h in s.table[0] %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in s.table[1:] %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% for f in s.figures %}<figure><img src="{{ f }}" alt="{{ f }}"></figure>{% endfor %}
</section>{% endfor %}
<section><h2>Provenance</h2><pre>{{ provenance }}</pre></section>
</body></html>""",
    autoescape=True,
)


@dataclass
class Section:
    """One report section: heading, paragraphs, an optional table (first row = header), figure paths."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    table: list[list] | None = None
    figures: list[str] = field(default_factory=list)


def write_report(path: str | Path, title: str, sections: list[Section], provenance: dict) -> Path:
    """Render the report to ``path`` atomically; figure paths are relative to the report's folder."""
    prov = {"neurosafe": neurosafe.__version__, "python": platform.python_version(), **provenance}
    html = _TEMPLATE.render(
        title=title, sections=sections, version=neurosafe.__version__,
        created=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        provenance=json.dumps(prov, indent=2, default=str),
    )
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(path)
