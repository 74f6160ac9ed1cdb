"""The tour's report: ``html`` writes the page (sections of notes, a table and pictures)."""

from .html import Section, html_page, write_html

__all__ = ["Section", "html_page", "write_html"]
