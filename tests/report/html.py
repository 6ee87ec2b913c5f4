"""Reading the pages featx writes, as a browser would need them: the ids of their sections, the
images and links they reference, and whether anything would be fetched from elsewhere."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse


class Page(HTMLParser):
    """The ids, image sources, links, classes and text of an HTML page."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.ids, self.images, self.links, self.classes = [], [], [], []
        self.external = 0
        self.text = ""
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.external += 1
        self.classes.append(attrs.get("class", ""))

    def handle_data(self, data):
        self.text += data

    def missing_images(self) -> list[str]:
        return [src for src in self.images if not (self.path.parent / unquote(src)).is_file()]

    def broken_links(self) -> list[str]:
        """Links to files (pages, CSVs, originals) that do not exist; anchors must exist too."""
        broken = []
        for href in self.links:
            url = urlparse(href)
            if url.scheme == "file":
                target = Path(unquote(url.path))
            elif not url.scheme and url.path:
                target = self.path.parent / unquote(url.path)
            elif not url.scheme and url.fragment:
                if url.fragment not in self.ids:
                    broken.append(href)
                continue
            else:
                broken.append(href)  # http(s) or anything else: pages open offline
                continue
            if not target.is_file():
                broken.append(href)
        return broken


def check_page(path: Path, sections) -> Page:
    """Parse ``path``: every one of ``sections`` there, every image and linked file present,
    nothing loaded from elsewhere (no scripts, style sheets or remote images)."""
    page = Page(Path(path))
    assert set(sections) <= set(page.ids), f"missing sections {set(sections) - set(page.ids)}"
    assert page.missing_images() == []
    assert page.broken_links() == []
    assert page.external == 0
    assert not any(src.startswith(("http:", "https:", "//")) for src in page.images)
    return page
