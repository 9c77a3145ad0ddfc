"""The docs' site checks (docs/check_site.py) and the offline configuration they guard.

The real site is checked in CI after the build (``.ci/run``); here the checker itself is tested on
small synthetic sites, so that a checker that stopped seeing an external script would fail.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_site = _load("check_site")


def _site(tmp_path, pages, css=None):
    for name, body in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><head></head><body>{body}</body></html>", encoding="utf-8")
    for name, text in (css or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("body", [
    '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>',
    '<script src="//code.jquery.com/jquery-3.5.1.js"></script>',
    '<link rel="stylesheet" href="http://cdn.datatables.net/1.10.23/css/jquery.dataTables.css">',
    '<img src="https://example.org/figure.png">',
])
def test_an_external_script_stylesheet_or_image_fails(tmp_path, body):
    root = _site(tmp_path, {"index.html": body})
    problems = check_site.check_offline(root)
    assert len(problems) == 1 and "offline" in problems[0].message


def test_a_stylesheet_importing_an_external_file_fails(tmp_path):
    root = _site(tmp_path, {"index.html": "<p>x</p>"},
                 css={"style.css": "@import 'https://fonts.example.org/a.css';\np { color: red }"})
    [problem] = check_site.check_offline(root)
    assert problem.path == "style.css" and problem.line == 1


def test_local_assets_and_external_links_pass(tmp_path):
    root = _site(tmp_path, {
        "index.html": '<script src="_static/mathjax/tex-chtml.js"></script>'
                      '<a href="https://arxiv.org/abs/2310.12036">a paper</a>'
                      '<a href="page.html#here">local</a>',
        "page.html": '<h1 id="here">x</h1>',
    })
    (root / "_static" / "mathjax").mkdir(parents=True)
    (root / "_static" / "mathjax" / "tex-chtml.js").write_text("", encoding="utf-8")
    assert check_site.check_offline(root) == []
    assert check_site.check_links(root) == []


def test_broken_files_and_anchors_fail(tmp_path):
    root = _site(tmp_path, {
        "index.html": '<a href="missing.html">a</a><a href="page.html#nowhere">b</a>'
                      '<a href="#top">c</a>',
        "page.html": '<h1 id="here">x</h1>',
    })
    messages = sorted(p.message for p in check_site.check_links(root))
    assert len(messages) == 3, messages


def test_the_docs_load_mathjax_from_the_site():
    """conf.py: MathJax from the packaged offline copy, no CDN, no DataTables pages."""
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"sphinx-mathjax-offline"' in conf
    assert re.search(r'^mathjax_path = "mathjax/', conf, re.M)
    assert '"write_computation_times": False' in conf
    assert not re.search(r"https?://[^\s\"']*\.js", conf)
