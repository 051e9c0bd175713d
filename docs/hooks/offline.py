"""MkDocs hook: fail the build when a page would load anything from another host.

The site must work offline and leak no reader to a third party: no web fonts, no CDN scripts
or styles. Links (``<a href>``) to other sites are fine; what a browser fetches by itself is
not: ``src`` of scripts, images, frames and media, ``href`` of ``<link>`` elements (styles,
preconnects, icons) and ``url(...)`` in styles.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", re.I)
#: ``<link rel=...>`` kinds that are only links for a reader or a crawler, never fetched.
NOT_FETCHED = {"canonical", "alternate", "prev", "next", "author", "license"}


class Fetches(HTMLParser):
    """Collect the URLs of other hosts that a page makes the browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link" and not set(values.get("rel", "").split()) <= NOT_FETCHED:
            self._check(values.get("href", ""))
        elif tag != "a":
            for name in ("src", "srcset", "poster", "data"):
                self._check(values.get(name, ""))
        self.found += CSS_URL.findall(values.get("style", ""))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += CSS_URL.findall(data)

    def _check(self, url: str) -> None:
        if EXTERNAL.match(url):
            self.found.append(url)


def external_fetches(site: Path) -> dict[str, list[str]]:
    """Return, per file of the built site, the URLs of other hosts it makes a browser fetch."""
    found: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*")):
        if path.suffix == ".html":
            parser = Fetches()
            parser.feed(path.read_text(encoding="utf-8"))
            urls = parser.found
        elif path.suffix == ".css":
            urls = CSS_URL.findall(path.read_text(encoding="utf-8"))
        else:
            continue
        if urls:
            found[str(path.relative_to(site))] = urls
    return found


def on_post_build(config: Any, **kwargs: Any) -> None:
    """Raise when a file of the built site makes a browser fetch from another host."""
    from mkdocs.exceptions import PluginError  # here: the tests import this module without it

    found = external_fetches(Path(config["site_dir"]))
    if found:
        urls = sorted({url for urls in found.values() for url in urls})
        raise PluginError(f"{len(found)} files of the site would fetch from other hosts (a web "
                          f"font? set theme.font: false; no CDN): {urls}, in {sorted(found)}")
