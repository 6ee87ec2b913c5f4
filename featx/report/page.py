"""One offline HTML page and its files: thumbnails, figures, and further gallery pages.

A page ``out/report.html`` keeps its figures and the further pages of long galleries in
``out/report_files/`` and shares the thumbnail cache ``out/thumbs/`` with the other pages of the
folder. Templates are Jinja2 files in ``templates/`` (autoescaped); the style sheet is inlined, and
nothing is fetched from the network.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from featx import __version__
from featx.errors import FeatxError
from featx.report.thumbnails import Thumbnails
from featx.store.schema import path_text

PER_PAGE = 40
MAX_PAGES = 10
THUMBS = "thumbs"


@dataclass
class Tile:
    """One image on a page: its thumbnail ``src`` (relative to the page; "" when there is
    none, then ``problem`` says why), a link to the original, and caption lines."""

    src: str
    href: str
    name: str
    lines: list[str] = field(default_factory=list)
    problem: str = ""
    mark: str = ""


@dataclass
class Card:
    """A gallery item: a title, text lines, its images and, smaller, their neighbours;
    ``layout``: ``main`` (one large image) or ``group`` (several side by side)."""

    title: str
    tiles: list[Tile]
    lines: list[str] = field(default_factory=list)
    badges: list[str] = field(default_factory=list)
    neighbours: list[Tile] = field(default_factory=list)
    neighbours_title: str = "Nearest other images:"
    hidden: int = 0
    layout: str = "main"


@dataclass
class Gallery:
    """The cards of one page of a section, with the navigation between its pages."""

    section: str
    cards: list[Card]
    total: int
    first: int
    page: int
    pages: int
    shown: int
    links: list[tuple[int, str]]


class Page:
    """The page ``folder/name`` being written: its asset folder and thumbnail cache."""

    def __init__(self, folder: str | os.PathLike, name: str, per_page: int = PER_PAGE,
                 max_pages: int = MAX_PAGES):
        if per_page < 1 or max_pages < 1:
            raise FeatxError(f"pages need at least 1 item and 1 page, got {per_page} per page "
                             f"and {max_pages} pages")
        self.folder = os.fspath(folder)
        self.name = name
        self.per_page = per_page
        self.max_pages = max_pages
        self.stem = Path(name).stem
        self.assets = os.path.join(self.folder, f"{self.stem}_files")
        self.thumbs = Thumbnails(os.path.join(self.folder, THUMBS))
        self.env = Environment(loader=PackageLoader(__package__, "templates"),
                               autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)

    @property
    def capacity(self) -> int:
        """How many gallery items a section shows at most, over all its pages."""
        return self.per_page * self.max_pages

    @property
    def path(self) -> str:
        return os.path.join(self.folder, self.name)

    def asset(self, name: str) -> str:
        """The file path of asset ``name`` (the asset folder is made on first use)."""
        os.makedirs(self.assets, exist_ok=True)
        return os.path.join(self.assets, name)

    def tile(self, image: str, lines: Sequence[str] = (), mark: str = "") -> Tile:
        """A tile for image ``image``, its thumbnail made now unless cached; the source is
        relative to the main page (gallery pages rewrite it)."""
        thumb = self.thumbs.get(image)
        src = os.path.relpath(thumb.file, self.folder).replace(os.sep, "/") if thumb.file else ""
        return Tile(src, _uri(image), path_text(os.path.basename(image)), list(lines),
                    thumb.problem, mark)

    def galleries(self, section: str, cards: Sequence[Card], title: str,
                  total: int | None = None, **context) -> Gallery:
        """Write pages 2.. of ``cards`` (at most :attr:`capacity` of them) as ``<stem>_files/
        <section>-N.html``; return the first page, for the main page to show. ``total``: how
        many items there are, when ``cards`` holds only the first :attr:`capacity`."""
        per_page = self.per_page
        cards = list(cards[:self.capacity])
        total = len(cards) if total is None else total
        pages = max(1, math.ceil(len(cards) / per_page))
        shown = len(cards)

        def gallery(n: int) -> Gallery:
            links = [(k, (f"#{section}" if n == 1 else f"../{self.name}#{section}") if k == 1
                      else (f"{self.stem}_files/" if n == 1 else "") + f"{section}-{k}.html")
                     for k in range(1, pages + 1)]
            return Gallery(section, list(cards[(n - 1) * per_page:n * per_page]), total,
                           (n - 1) * per_page + 1, n, pages, shown, links)

        for stale in glob.glob(os.path.join(glob.escape(self.assets), f"{section}-*.html")):
            os.remove(stale)  # pages of an earlier, longer run
        for n in range(2, pages + 1):
            html = self.render("gallery.html.j2", root="../", gallery=gallery(n),
                               title=f"{title}: page {n} of {pages}", back=f"../{self.name}",
                               **context)
            self.write(self.asset(f"{section}-{n}.html"), html)
        return gallery(1)

    def render(self, template: str, **context) -> str:
        """Render ``template``; ``root`` (the way back to the page's folder), the featx version,
        the time and the asset folder's name are filled in unless given."""
        context.setdefault("root", "")
        context.setdefault("version", __version__)
        context.setdefault("written", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
        context.setdefault("assets", os.path.basename(self.assets))
        context.setdefault("uses_assets", os.path.isdir(self.assets))
        return self.env.get_template(template).render(**context)

    def write(self, path: str, html: str) -> None:
        """Write ``html`` to ``path`` atomically (a reader never sees half a page)."""
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        partial = f"{path}.{os.getpid()}.part"
        with open(partial, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.replace(partial, path)


def _uri(path: str) -> str:
    try:
        return Path(os.path.abspath(path)).as_uri()
    except ValueError:
        return ""
