"""Check a built HTML site: offline assets, local links and anchors, and the API inventory.

Run after ``sphinx-build -b html docs docs/_build/html``::

    python docs/check_site.py docs/_build/html            # offline assets, links, anchors
    python docs/check_site.py docs/_build/html --api prefrl   # and the API inventory

Checks, each reported as ``file:line: message`` (exit status 1 when any fails):

- **offline**: no ``<script src>``, ``<link href>`` (or ``<img>``, ``<iframe>``, ``<source>``,
  ``<video>``, ``<audio>``, ``<embed>`` ``src``) points outside the site (``http://``,
  ``https://`` or a protocol-relative ``//``), and no stylesheet under the site imports or
  ``url()``-loads an external file;
- **links**: every local ``href``/``src`` names a file that exists, and every ``#anchor`` of a
  local HTML page (the same page for ``#anchor`` alone) is an ``id`` (or ``<a name>``) there.
  External links are not fetched;
- **api** (``--api PACKAGE``, reads ``objects.inv`` and imports the package): no documented
  Python object has a private component in its dotted path, each object is documented at most
  once (two names for one object are reported), each documented object is in its module's
  ``__all__``, and each name in the ``__all__`` of a documented module is documented there.

Only the standard library is used for the site checks (``html.parser``, ``zlib``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "Problem",
    "check_api",
    "check_links",
    "check_offline",
    "check_site",
    "external",
    "main",
    "parse_html",
    "read_inventory",
]

#: Elements whose ``src`` loads a resource into the page.
SRC_TAGS = frozenset({"script", "img", "iframe", "source", "video", "audio", "embed", "track"})
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


def external(url: str) -> bool:
    """True for a URL that leaves the site: ``http://``, ``https://`` or protocol-relative ``//``.

    >>> external("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js")
    True
    >>> external("//code.jquery.com/jquery.js"), external("_static/mathjax/tex-chtml.js")
    (True, False)
    """
    u = url.strip().lower()
    return u.startswith(("http://", "https://", "//"))


@dataclass
class Problem:
    """One failed check: the file, its line (0 when not known) and what is wrong."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Page:
    """What a page holds for the checks: its ids and its references."""

    ids: set[str] = field(default_factory=set)
    #: ``(tag, attribute, value, line)`` of every ``href``/``src`` in the page.
    refs: list[tuple[str, str, str, int]] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.page.ids.add(value)
            elif name in ("href", "src"):
                self.page.refs.append((tag, name, value, line))

    handle_startendtag = handle_starttag


def parse_html(text: str) -> Page:
    """The ids and the ``href``/``src`` references of an HTML document.

    >>> page = parse_html('<p id="a"><a href="b.html#c">x</a><img src="i.png"/></p>')
    >>> sorted(page.ids), [r[:3] for r in page.refs]
    (['a'], [('a', 'href', 'b.html#c'), ('img', 'src', 'i.png')])
    """
    collector = _Collector()
    collector.feed(text)
    collector.close()
    return collector.page


def _html_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if p.is_file())


def _load_pages(root: Path) -> dict[Path, Page]:
    return {p.resolve(): parse_html(p.read_text(encoding="utf-8", errors="replace"))
            for p in _html_files(root)}


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def check_offline(root: Path, pages: dict[Path, Page] | None = None) -> list[Problem]:
    """Problems with scripts, stylesheets and media that load from outside the site."""
    root = Path(root).resolve()
    pages = _load_pages(root) if pages is None else pages
    problems = []
    for path, page in pages.items():
        for tag, attr, value, line in page.refs:
            loads = (tag == "link" and attr == "href") or (tag in SRC_TAGS and attr == "src")
            if loads and external(value):
                problems.append(Problem(_rel(path, root), line,
                                        f"external <{tag} {attr}={value!r}> (the site must work "
                                        "offline)"))
    for css in sorted(root.rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        for match in _CSS_URL.finditer(text):
            url = match.group(1) or match.group(2)
            if external(url):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(Problem(_rel(css, root), line,
                                        f"stylesheet loads external {url!r}"))
    return problems


def _target(page_path: Path, url: str) -> tuple[Path | None, str]:
    """The local file a reference names (None for the page itself) and its fragment."""
    parts = urlsplit(url)
    fragment = unquote(parts.fragment)
    if not parts.path:
        return None, fragment
    target = (page_path.parent / unquote(parts.path)).resolve()
    if parts.path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, fragment


def check_links(root: Path, pages: dict[Path, Page] | None = None) -> list[Problem]:
    """Problems with local references: missing files and anchors that no element has."""
    root = Path(root).resolve()
    pages = _load_pages(root) if pages is None else pages
    problems = []
    for path, page in pages.items():
        for tag, attr, value, line in page.refs:
            value = value.strip()
            if not value or external(value) or _SCHEME.match(value):
                continue
            target, fragment = _target(path, value)
            where = _rel(path, root)
            if target is None:
                target = path
            elif not target.exists():
                problems.append(Problem(where, line,
                                        f"<{tag} {attr}={value!r}>: no file {_rel(target, root)}"))
                continue
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse_html(
                    target.read_text(encoding="utf-8", errors="replace")).ids
                if fragment not in ids:
                    problems.append(Problem(where, line,
                                            f"<{tag} {attr}={value!r}>: no anchor #{fragment} in "
                                            f"{_rel(target, root)}"))
    return problems


def read_inventory(path: Path) -> list[tuple[str, str, str]]:
    """``(name, domain:role, uri)`` of every entry of a Sphinx ``objects.inv`` (version 2)."""
    data = Path(path).read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = data.index(b"\n", header_end) + 1
    if not data.startswith(b"# Sphinx inventory version 2"):
        raise ValueError(f"{path}: not a Sphinx inventory version 2")
    entries = []
    line_re = re.compile(r"(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+?(\S*)\s+(.*)")
    for line in zlib.decompress(data[header_end:]).decode("utf-8").splitlines():
        match = line_re.fullmatch(line.rstrip())
        if match:
            name, role, _, uri, _ = match.groups()
            if uri.endswith("$"):
                uri = uri[:-1] + name
            entries.append((name, role, uri))
    return entries


def _resolve(name: str):
    """The object a dotted name denotes, and the module part of the name."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        module = ".".join(parts[:i])
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj, module
    raise ImportError(name)


_TOP_LEVEL = ("py:class", "py:function", "py:data", "py:exception")


def _private_part(name: str) -> str | None:
    """The first ``_private`` component of a dotted name (dunders are not private)."""
    return next((p for p in name.split(".") if p.startswith("_") and not p.endswith("__")), None)


def check_api(root: Path, package: str) -> list[Problem]:
    """Problems with the documented API of ``package`` (read from the site's ``objects.inv``).

    A private name whose link is the link of a public entry is Sphinx's ``:canonical:`` alias (the
    module that defines a re-exported class), not a second description: it is not reported.
    """
    inv = Path(root) / "objects.inv"
    entries = [e for e in read_inventory(inv) if e[1].startswith("py:")
               and (e[0] == package or e[0].startswith(package + "."))]
    public_uris = {uri for name, _, uri in entries if not _private_part(name)}
    entries = [e for e in entries if not (_private_part(e[0]) and e[2] in public_uris)]
    problems = []
    modules = {name for name, role, _ in entries if role == "py:module"}
    by_object: dict[int, list[str]] = {}
    for name, role, _ in entries:
        private = _private_part(name)
        if private:
            problems.append(Problem("objects.inv", 0, f"{name} ({role}) has a private part "
                                                      f"{private!r}"))
            continue
        if role not in _TOP_LEVEL:
            continue
        try:
            obj, module = _resolve(name)
        except (ImportError, AttributeError) as exc:
            problems.append(Problem("objects.inv", 0, f"{name} ({role}) does not import: {exc}"))
            continue
        public = getattr(importlib.import_module(module), "__all__", None)
        short = name[len(module) + 1:]
        if module not in modules:
            problems.append(Problem("objects.inv", 0,
                                    f"{name} is documented outside an automodule'd module"))
        elif public is not None and short.split(".")[0] not in public:
            problems.append(Problem("objects.inv", 0, f"{name} is not in {module}.__all__"))
        if "." not in short and not isinstance(obj, (int, float, str, bytes, bool, type(None))):
            by_object.setdefault(id(obj), []).append(name)
    for names in by_object.values():
        if len(names) > 1:
            problems.append(Problem("objects.inv", 0, "one object documented "
                                    f"{len(names)} times: {', '.join(sorted(names))}"))
    documented = {name for name, _, _ in entries}
    for module in sorted(modules):
        public = getattr(importlib.import_module(module), "__all__", None) or ()
        for short in public:
            if f"{module}.{short}" not in documented:
                problems.append(Problem("objects.inv", 0,
                                        f"{module}.{short} is in __all__ but not documented"))
    return problems


def check_site(root: Path, api: str | None = None) -> dict[str, list[Problem]]:
    """Every check on the site at ``root``: ``{"offline": [...], "links": [...], ...}``."""
    root = Path(root).resolve()
    if not (root / "index.html").exists():
        raise FileNotFoundError(f"{root}: no index.html (build the docs first)")
    pages = _load_pages(root)
    results = {"offline": check_offline(root, pages), "links": check_links(root, pages)}
    if api:
        results["api"] = check_api(root, api)
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: print the problems and return 1 when there are any."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="docs/_build/html", type=Path)
    parser.add_argument("--api", metavar="PACKAGE", help="also check PACKAGE's objects.inv")
    args = parser.parse_args(argv)
    results = check_site(args.root, args.api)
    n_pages = len(_html_files(args.root))
    failed = False
    for name, problems in results.items():
        for problem in problems:
            print(f"{name}: {problem}")
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"check_site {name}: {status}")
        failed = failed or bool(problems)
    print(f"check_site: {n_pages} HTML pages under {args.root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
