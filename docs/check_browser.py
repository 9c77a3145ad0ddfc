"""Check the built docs in a real headless browser (Chromium): pages load, figures, math, layout.

Run after the docs build::

    python docs/check_browser.py docs/_build/html --screenshots docs/_build/screenshots

For each page (by default the index, a tutorial page, a theory page, an API page and a gallery
example), Chromium loads the file with the network cut off (every host name resolves to nothing,
so a page that needed a CDN would show it) and:

- ``--dump-dom`` (after its scripts ran, ``--virtual-time-budget``): the page loaded (its title and
  main text are there); every ``<img>`` names a file of the site that exists, and pages that
  should have figures have them; MathJax produced an output element (``mjx-container``) for every
  ``\\(...\\)`` and ``\\[...\\]`` of the static page, no TeX error (``mjx-merror``), and no raw
  ``\\(`` or ``\\[`` is left in the visible text (code blocks aside);
- a probe page that loads it in a 1280-pixel-wide frame (``--allow-file-access-from-files``)
  measures, once MathJax is done, every image decoded (``naturalWidth > 0``), and every code
  block and display equation that is wider than its box (they scroll inside their box: only code
  blocks of gallery examples count as failures, since their lines are kept short);
- ``--screenshot`` writes ``<screenshots>/<page>.png`` (1280 x 2400).

Chromium is looked up as ``chromium``, ``chromium-browser``, ``google-chrome`` (or ``$CHROMIUM``);
without it the check fails with a message saying how to install it. Exit status 0 when every
check passes, 1 when one fails, 2 when Chromium is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: ``(page, expects figures)``: the pages checked when none are named.
DEFAULT_PAGES = (
    ("index.html", False),
    ("tutorial/one_bandit.html", False),
    ("theory/psipo.html", True),
    ("api/bandits.html", False),
    ("auto_examples/plot_ipo.html", True),
)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    # No network: a page that needs anything from outside the site fails to render it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

_SKIP_TEXT = frozenset({"script", "style", "noscript", "template", "pre", "code", "textarea",
                        "mjx-assistive-mml", "svg"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
_RAW_TEX = re.compile(r"\\[(\[]")


class _Dom(HTMLParser):
    """Visible text (code aside), the ``<img src>``s, the title and the MathJax elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.images: list[str] = []
        self.title = ""
        self.counts = {"mjx-container": 0, "mjx-merror": 0, "figure": 0, "article": 0}
        self._skip: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in self.counts:
            self.counts[tag] += 1
        if tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.images.append(src)
        if tag == "title" and not self.title:
            self._in_title = True
        if tag in _SKIP_TEXT and tag not in _VOID:
            self._skip.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in self._skip:
            while self._skip and self._skip.pop() != tag:
                pass

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.text.append(data)


def read_dom(html: str) -> _Dom:
    """Parse a page: ``dom.text`` (visible, code aside), ``dom.images``, ``dom.counts``.

    >>> dom = read_dom('<title>T</title><p>a \\\\(x\\\\) <code>\\\\(y\\\\)</code></p><img src="i.png">')
    >>> dom.title, raw_tex(dom), dom.images
    ('T', 1, ['i.png'])
    """
    dom = _Dom()
    dom.feed(html)
    dom.close()
    return dom


def raw_tex(dom: _Dom) -> int:
    """How many ``\\(`` and ``\\[`` are left in the visible text."""
    return len(_RAW_TEX.findall("".join(dom.text)))


@dataclass
class PageResult:
    """What the browser saw on one page, and what is wrong with it."""

    page: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def find_chromium() -> str | None:
    """The Chromium executable (``$CHROMIUM`` first), or None."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _run(chromium: str, profile: Path, args: list[str], timeout: float) -> str:
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"chromium exited with {proc.returncode}: {tail}")
    return proc.stdout


_PROBE = """<!doctype html><meta charset="utf-8"><title>probe</title><pre id="probe">pending</pre>
<iframe id="page" src="%(url)s" style="width:1280px;height:1600px;border:0"></iframe>
<script>
function measure() {
  var d = document.getElementById('page').contentDocument, out = {};
  function wide(sel) {
    return Array.prototype.filter.call(d.querySelectorAll(sel), function (e) {
      return e.scrollWidth > e.clientWidth + 1;
    }).map(function (e) {
      return {width: e.scrollWidth, box: e.clientWidth, text: e.textContent.slice(0, 70)};
    });
  }
  out.images = Array.prototype.map.call(d.querySelectorAll('img'), function (i) {
    return {src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0};
  });
  out.code = wide('div.highlight pre');
  out.math = wide('mjx-container[display="true"]');
  out.pageWidth = d.documentElement.scrollWidth;
  out.viewWidth = d.documentElement.clientWidth;
  document.getElementById('probe').textContent = JSON.stringify(out);
}
document.getElementById('page').addEventListener('load', function () {
  var w = document.getElementById('page').contentWindow;
  var done = (w.MathJax && w.MathJax.startup && w.MathJax.startup.promise) || Promise.resolve();
  done.then(function () { setTimeout(measure, 200); }, measure);
});
</script>
"""


def check_page(chromium: str, root: Path, page: str, expects_figures: bool,
               screenshots: Path | None, timeout: float = 120.0) -> PageResult:
    """Load one page of the site at ``root`` in Chromium and check it."""
    result = PageResult(page)
    path = (root / page).resolve()
    if not path.exists():
        result.problems.append(f"no file {path}")
        return result
    static = read_dom(path.read_text(encoding="utf-8"))
    expected_math = raw_tex(static)
    with tempfile.TemporaryDirectory(prefix="prefrl-browser-") as tmp:
        tmp = Path(tmp)
        try:
            dom_html = _run(chromium, tmp / "profile",
                            ["--virtual-time-budget=15000", "--dump-dom", path.as_uri()], timeout)
            probe = tmp / "probe.html"
            probe.write_text(_PROBE % {"url": path.as_uri()}, encoding="utf-8")
            probe_html = _run(chromium, tmp / "profile",
                              ["--allow-file-access-from-files", "--window-size=1300,1700",
                               "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()],
                              timeout)
            if screenshots is not None:
                shot = screenshots / (page.replace("/", "__").removesuffix(".html") + ".png")
                _run(chromium, tmp / "profile", ["--window-size=1280,2400",
                                                 "--virtual-time-budget=15000",
                                                 f"--screenshot={shot}", path.as_uri()], timeout)
                if not shot.exists() or shot.stat().st_size == 0:
                    result.problems.append(f"no screenshot written to {shot}")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            result.problems.append(f"chromium failed: {exc}")
            return result

    dom = read_dom(dom_html)
    text = " ".join("".join(dom.text).split())
    if not dom.title.strip() or len(text) < 200 or not dom.counts["article"]:
        result.problems.append(f"page did not load (title {dom.title!r}, {len(text)} characters)")
    # figures: every image is a file of the site
    for src in dom.images:
        parts = urlsplit(src)
        if parts.scheme in ("http", "https") or src.startswith("//"):
            result.problems.append(f"image from outside the site: {src}")
        elif parts.scheme == "data":
            continue
        elif not (path.parent / unquote(parts.path)).exists():
            result.problems.append(f"image file missing: {src}")
    if expects_figures and not dom.images:
        result.problems.append("no figure on a page that has figures")
    result.notes.append(f"{len(dom.images)} images, {dom.counts['figure']} <figure>s")
    # math: MathJax rendered everything
    containers, left = dom.counts["mjx-container"], raw_tex(dom)
    if expected_math and containers < expected_math:
        result.problems.append(f"MathJax rendered {containers} of {expected_math} formulas")
    if left:
        result.problems.append(f"{left} raw \\( or \\[ left in the visible text")
    if dom.counts["mjx-merror"]:
        result.problems.append(f"{dom.counts['mjx-merror']} TeX errors (mjx-merror)")
    result.notes.append(f"{containers} MathJax formulas (static page: {expected_math})")
    # layout, measured in the probe frame
    match = re.search(r'<pre id="probe">(.*?)</pre>', probe_html, re.DOTALL)
    try:
        layout = json.loads(_unescape(match.group(1))) if match else None
    except ValueError:
        layout = None
    if not isinstance(layout, dict):
        result.problems.append("the layout probe did not report (page not loaded in a frame?)")
        return result
    broken = [i["src"] for i in layout["images"] if not i["loaded"]]
    if broken:
        result.problems.append(f"images not decoded: {broken}")
    if layout["pageWidth"] > layout["viewWidth"] + 1:
        result.problems.append(f"page wider than the window: {layout['pageWidth']} > "
                               f"{layout['viewWidth']} px")
    for block in layout["code"]:
        message = (f"code block {block['width']} px wide in a {block['box']} px box: "
                   f"{block['text'][:50]!r}")
        (result.problems if page.startswith("auto_examples/") else result.notes).append(message)
    if layout["math"]:
        result.notes.append(f"{len(layout['math'])} display equations scroll sideways")
    return result


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def main(argv: list[str] | None = None) -> int:
    """Command line: check the pages, print one line per page, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="docs/_build/html", type=Path)
    parser.add_argument("pages", nargs="*", help="pages relative to ROOT (default: five pages)")
    parser.add_argument("--screenshots", type=Path, help="folder for the screenshots")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("check_browser: FAILED: Chromium is not installed (looked for $CHROMIUM, chromium, "
              "chromium-browser, google-chrome); on Debian or Ubuntu: apt-get install -y "
              "chromium", file=sys.stderr)
        return 2
    if not (args.root / "index.html").exists():
        print(f"check_browser: FAILED: no {args.root}/index.html (build the docs first)",
              file=sys.stderr)
        return 1
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    pages = ([(p, p.startswith(("theory/", "auto_examples/plot_"))) for p in args.pages]
             or list(DEFAULT_PAGES))
    version = subprocess.run([chromium, "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    print(f"check_browser: {version or chromium}")
    failed = 0
    for page, figures in pages:
        result = check_page(chromium, args.root, page, figures, args.screenshots)
        status = "ok" if result.ok else "FAILED"
        print(f"check_browser {page}: {status} ({'; '.join(result.notes)})")
        for problem in result.problems:
            print(f"  - {problem}")
        failed += not result.ok
    if args.screenshots is not None:
        print(f"check_browser: screenshots in {args.screenshots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
