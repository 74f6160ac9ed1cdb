"""The tour's HTML report: one page, a section per task, the book's numbers beside ours.

The page is built from plain data (``Section``: a title, notes, a table of strings and the
file names of pictures beside the page), so the report knows nothing of how the numbers were
made; ``tinygrad_lite.cli.tour`` fills the sections.

>>> section = Section("Chapter 1", rows=[["figure", "ours"], ["train MSE", "16.4"]])
>>> page = html_page([section], settings="epochs: 3")
>>> "<h2>Chapter 1</h2>" in page and "<td>16.4</td>" in page
True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

TITLE = "tinygrad_lite tour"  # HTML as it is, like STYLE
HEADING = "tinygrad_lite: the books' tasks, our numbers beside theirs"
STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
    "padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%;border:1px solid #eee;margin:.5em 0;display:block}"
)


@dataclass
class Section:
    """One part of the report: a title, a table, pictures and notes."""

    title: str
    rows: list[list[str]] = field(default_factory=list)  # the first row is the header
    images: list[str] = field(default_factory=list)  # file names beside the page
    notes: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # image -> the page it opens
    anchor: str = ""  # the heading's id, for links such as the index's ("#gallery")


def html_page(
    sections: Sequence[Section], settings: str, index: Sequence[tuple[str, str]] = ()
) -> str:
    """The page: the heading, ``settings`` (how the numbers were made), the ``index`` (one
    link a line: its text and the anchor of the section it opens), then each section."""
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{TITLE}</title>",
        f"<style>{STYLE}</style>",
        f"</head><body><h1>{HEADING}</h1>",
        f"<p>{e(settings)}</p>",
    ]
    if index:
        parts.append("<nav><ul>")
        parts += [f"<li><a href='#{e(anchor)}'>{e(text)}</a></li>" for text, anchor in index]
        parts.append("</ul></nav>")
    for s in sections:
        anchor = f" id='{e(s.anchor)}'" if s.anchor else ""
        parts.append(f"<h2{anchor}>{e(s.title)}</h2>")
        parts += [f"<p>{e(n)}</p>" for n in s.notes]
        if s.rows:
            head, *body = s.rows
            parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in head) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in body]
            parts.append("</table>")
        for name in s.images:
            img = f"<img src='{e(name)}' alt='{e(name)}'>"
            link = s.links.get(name)
            parts.append(f"<a href='{e(link)}' title='step through it'>{img}</a>" if link else img)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(
    path: str | Path,
    sections: Sequence[Section],
    settings: str,
    index: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write ``html_page(sections, settings, index)`` to ``path`` (UTF-8) and return it."""
    path = Path(path)
    path.write_text(html_page(sections, settings, index), encoding="utf-8")
    return path
