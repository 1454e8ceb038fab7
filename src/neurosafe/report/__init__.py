"""Reports (the layer above studies): figures and static HTML pages (jinja2) written from stored results."""

from neurosafe.report.html import Section, write_report
from neurosafe.report.study import write_study_report

__all__ = ["Section", "write_report", "write_study_report"]
