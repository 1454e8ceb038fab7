"""Reports (the layer above studies): figures and static HTML pages (jinja2) written from stored results."""

from neurosafe.report.html import Section, write_report
from neurosafe.report.study import bottom_line, write_study_report

__all__ = ["Section", "bottom_line", "write_report", "write_study_report"]
