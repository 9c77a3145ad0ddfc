"""Sphinx configuration for prefrl's documentation (built with -W: warnings are errors)."""

import importlib
import os
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import prefrl

project = "prefrl"
author = "The prefrl developers"
copyright = "2026, The prefrl developers"
release = version = prefrl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxcontrib.bibtex",
]

# sg_execution_times.rst: left by older builds (the gallery no longer writes it, see below).
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "sg_execution_times.rst", "auto_examples/sg_execution_times.rst"]
templates_path = ["_templates"]

# The docs work offline: MathJax 3 comes from the copy packaged by sphinx-mathjax-offline, which
# copies it to _static/mathjax/ at the end of the build (mathjax_path is relative to _static/).
# docs/check_site.py fails the build check on any script or stylesheet loaded from outside the site.
mathjax_path = "mathjax/tex-chtml.js"

# Figures with a caption are numbered: "Fig. 5.2" is the second figure of theory page 5 (the theory
# toctree numbers its pages).
numfig = True

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set = set()
numpydoc_xref_param_type = False

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    # The execution-times pages load jQuery and DataTables from CDNs: not written.
    "write_computation_times": False,
}

html_theme = "furo"
html_title = f"prefrl {release}"
html_static_path = ["_static"]
# Display math and code blocks scroll sideways instead of being cut off on the right.
html_css_files = ["prefrl.css"]
suppress_warnings = ["config.cache"]


# viewcode links each highlighted source file back to the documentation ("[docs]"), but it keeps
# one documented module per source file: the first public module that documents an object of
# _reward_models.py, say, is used for every object of that file, and an object re-exported by
# another public module gets an anchor that does not exist (#prefrl.games.iterative_dpo for
# prefrl.online.iterative_dpo; before the reorganisation, seven anchors of
# prefrl.testing.strategies). The two hooks below record each object's real anchor and put it in
# the "[docs]" links of the source pages. docs/check_site.py checks every anchor of the site.


def _real_module(modname, fullname):
    """The module that defines ``modname.fullname`` (the source page viewcode shows it on)."""
    try:
        obj = importlib.import_module(modname)
        for part in fullname.split("."):
            obj = getattr(obj, part)
    except Exception:
        return modname
    return getattr(obj, "__module__", None) or modname


def _record_anchors(app, doctree):
    from sphinx import addnodes

    anchors = app.env.__dict__.setdefault("prefrl_viewcode_anchors", {})
    docname = app.env.current_document.docname
    for desc in doctree.findall(addnodes.desc):
        if desc.get("domain") != "py":
            continue
        for sig in desc.findall(addnodes.desc_signature):
            modname, fullname, ids = sig.get("module"), sig.get("fullname"), sig.get("ids")
            if not (modname and fullname and ids):
                continue
            real = _real_module(modname, fullname)
            anchors.setdefault((real, fullname), {})[docname] = ids[0]


def _purge_anchors(app, env, docname):
    for by_doc in getattr(env, "prefrl_viewcode_anchors", {}).values():
        by_doc.pop(docname, None)


def _merge_anchors(app, env, docnames, other):
    mine = env.__dict__.setdefault("prefrl_viewcode_anchors", {})
    for key, by_doc in getattr(other, "prefrl_viewcode_anchors", {}).items():
        mine.setdefault(key, {}).update({d: a for d, a in by_doc.items() if d in docnames})


_BACKLINK = re.compile(r'(<div class="viewcode-block" id="(?P<name>[^"]+)">\s*'
                       r'<a class="viewcode-back" href=")(?P<uri>[^"#]*)#[^"]*(")')


def _fix_backlinks(app, pagename, templatename, context, doctree):
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    modname = pagename[len("_modules/"):].replace("/", ".")
    anchors = getattr(app.env, "prefrl_viewcode_anchors", {})

    def fix(match):
        for docname, anchor in anchors.get((modname, match["name"]), {}).items():
            if app.builder.get_relative_uri(pagename, docname) == match["uri"]:
                return f"{match[1]}{match['uri']}#{anchor}{match[4]}"
        return match[0]

    context["body"] = _BACKLINK.sub(fix, context["body"])


# A public constant that a private file defines (prefrl.losses.PAIRWISE lives in _registry.py)
# keeps its "#:" comment there, where autodoc, documenting the package, does not look. The hook
# below adds each such constant, with that comment, to the page of the package that exports it.


def _private_constants(modname):
    """``(name, comment, value)`` of each constant in ``__all__`` commented in a private file."""
    from sphinx.pycode import ModuleAnalyzer

    package = importlib.import_module(modname)
    if not hasattr(package, "__path__"):
        return []
    own = ModuleAnalyzer.for_module(modname).find_attr_docs()
    found = []
    for name in getattr(package, "__all__", ()):
        value = getattr(package, name, None)
        if ("", name) in own or callable(value) or isinstance(value, type(sys)):
            continue
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                continue
            submodule = importlib.import_module(f"{modname}.{info.name}")
            if getattr(submodule, name, None) is value:  # defined or imported there
                comment = ModuleAnalyzer.for_module(submodule.__name__).find_attr_docs()
                if ("", name) in comment:
                    found.append((name, list(comment[("", name)]), value))
                    break
    return found


# Stars of Python signatures in a comment ("callable(*arrays, **options)") are not emphasis.
_LITERAL_OR_ROLE = re.compile(r"(``.+?``|:[\w:.-]+:`[^`]*`)", re.DOTALL)
_STAR_ARGS = re.compile(r"\*{1,2}(?=\w+[,)])")


def _escape_star_args(text):
    parts = _LITERAL_OR_ROLE.split(text)
    return "".join(p if i % 2 else _STAR_ARGS.sub(lambda m: "\\" + "\\".join(m[0]), p)
                   for i, p in enumerate(parts))


def _document_private_constants(app, what, name, obj, options, lines):
    if what != "module":
        return
    for const, comment, value in _private_constants(name):
        lines += ["", f".. py:data:: {const}"]
        if isinstance(value, (int, float, str, tuple)) and len(repr(value)) <= 60:
            lines.append(f"   :value: {value!r}")
        text = _escape_star_args("\n".join(comment))
        lines += [""] + [f"   {line}" if line.strip() else "" for line in text.split("\n")]


# ``.. prefrl-claims:: NAME`` renders the claims of a figure from paper_figures/NAME.json: each
# claim with the kind of evidence it is (certified, checked on N instances, argued, measured,
# qualitative), our number, the paper's and whether it holds. The theory pages put one under each
# figure, so the evidence is read where the figure is.

_FIGURES = Path(__file__).resolve().parents[1] / "paper_figures"


def _short(value, width=60):
    import json

    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def _evidence(c):
    status = c.get("status") or "unstated"
    if status == "checked" and c.get("instances"):
        return f"checked on {c['instances']} instance{'s' if c['instances'] != 1 else ''}"
    if status == "measured" and c.get("sensitivity"):
        return f"measured ({c['sensitivity']})"
    return status


def _claims_directive():
    import json

    from docutils import nodes
    from docutils.parsers.rst import Directive

    class ClaimsTable(Directive):
        required_arguments = 1
        has_content = False

        def run(self):
            name = self.arguments[0]
            path = _FIGURES / f"{name}.json"
            env = self.state.document.settings.env
            env.note_dependency(str(path))
            data = json.loads(path.read_text(encoding="utf-8"))
            header = ("claim", "evidence", "ours", "paper's", "holds")
            table = nodes.table(classes=["prefrl-claims"])
            group = nodes.tgroup(cols=len(header))
            table += group
            for width in (40, 24, 14, 14, 8):
                group += nodes.colspec(colwidth=width)

            def row(cells):
                r = nodes.row()
                for cell in cells:
                    entry = nodes.entry()
                    entry += nodes.paragraph(text=cell)
                    r += entry
                return r

            head = nodes.thead()
            head += row(header)
            group += head
            body = nodes.tbody()
            for c in data["claims"]:
                paper = "-" if c.get("paper") is None else _short(c["paper"], 40)
                body += row((c["claim"], _evidence(c), _short(c["ours"], 40), paper,
                             "yes" if c["holds"] else "NO"))
            group += body
            title = nodes.title(text=f"Claims of {name} and their evidence "
                                     f"(from paper_figures/{name}.json)")
            table.insert(0, title)
            return [table]

    return ClaimsTable


def setup(app):
    app.add_directive("prefrl-claims", _claims_directive())
    app.connect("autodoc-process-docstring", _document_private_constants)
    app.connect("doctree-read", _record_anchors)
    app.connect("env-purge-doc", _purge_anchors)
    app.connect("env-merge-info", _merge_anchors)
    app.connect("html-page-context", _fix_backlinks)
