"""The tour's HTML report: a page built from the sections it is given, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tinygrad_lite.report import Section, html_page, write_html


def test_the_page_shows_each_section_in_order(tmp_path):
    sections = [
        Section("Chapter 1", rows=[["figure", "ours", "book"], ["train MSE", "16.4", "16.4"]]),
        Section("Fraud <& co>", notes=["a note"], images=["fraud.png"]),
    ]
    path = write_html(tmp_path / "index.html", sections, settings="epochs: 3; seeds: 2")
    page = path.read_text(encoding="utf-8")
    assert page == html_page(sections, "epochs: 3; seeds: 2")
    assert page.index("<h2>Chapter 1</h2>") < page.index("<h2>Fraud &lt;&amp; co&gt;</h2>")
    assert "<p>epochs: 3; seeds: 2</p>" in page and "<p>a note</p>" in page
    assert "<img src='fraud.png' alt='fraud.png'>" in page
    table = page[page.index("<table>") : page.index("</table>") + len("</table>")]
    rows = ET.fromstring(table).findall("tr")
    assert [[c.text for c in r] for r in rows] == [
        ["figure", "ours", "book"],
        ["train MSE", "16.4", "16.4"],
    ]


def test_a_picture_can_open_its_stepper_page():
    section = Section("Net", images=["net.svg", "plot.png"], links={"net.svg": "net's page.html"})
    page = html_page([section], settings="")
    link = "<a href='net&#x27;s page.html' title='step through it'><img src='net.svg'"
    assert link in page
    assert "<img src='plot.png' alt='plot.png'>" in page and page.count("<a href") == 1


def test_the_index_links_to_the_sections_anchors():
    sections = [Section("Chapter 1"), Section("Gallery <all>", anchor="gallery")]
    index = [("Gallery <all>", "gallery"), ("a CNN's 'filters'", "gallery-cnn")]
    page = html_page(sections, settings="", index=index)
    assert "<h2>Chapter 1</h2>" in page  # no anchor, no id
    assert "<h2 id='gallery'>Gallery &lt;all&gt;</h2>" in page
    nav = page[page.index("<nav>") : page.index("</nav>") + len("</nav>")]
    links = [(a.get("href"), a.text) for a in ET.fromstring(nav).iter("a")]
    assert links == [("#gallery", "Gallery <all>"), ("#gallery-cnn", "a CNN's 'filters'")]
    assert page.index("</nav>") < page.index("<h2>Chapter 1</h2>")
    assert "<nav>" not in html_page(sections, settings="")  # no index, no list
