"""Reports: matplotlib figures and static HTML pages (jinja2)."""
