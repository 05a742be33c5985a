"""Sphinx configuration of the gradcourse site (Spanish)."""

import os
from pathlib import Path

# Executed pages and gallery scripts are small torch workloads: one thread is as
# fast as two here (tests/bench_threads.py) and leaves the other core free.
# Kernels started by myst-nb inherit these variables; progress bars stay off.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("GRADCOURSE_PROGRESS", "0")

project = "gradcourse"
author = "gradcourse"
copyright = "2026, gradcourse"
language = "es"

extensions = [
    "myst_nb",  # MyST Markdown + executed notebooks with glue
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # Google-style docstrings
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # serves MathJax from the site itself: works offline
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinx_togglebutton",
    "sphinxcontrib.bibtex",
]

# The gallery writes .ipynb/.py/.zip/.json beside its .rst pages, in section folders;
# myst-nb must not read those notebooks as pages of their own ("**" spans folders).
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "auto_examples/**.ipynb",
                    "auto_examples/**.py", "auto_examples/**.zip", "auto_examples/**.json",
                    "**sg_execution_times.rst"]

# --- MyST / myst-nb --------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
nb_execution_mode = "cache"  # an unchanged page is not re-executed
nb_execution_cache_path = "_build/.jupyter_cache"
nb_execution_timeout = 300
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True  # ...and the log names the page and cell
nb_merge_streams = True
nb_code_prompt_show = "Mostrar el código"  # the toggle of hidden cells, in Spanish
nb_code_prompt_hide = "Ocultar el código"

# --- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("gradcourse",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"gradcourse": None},
    "remove_config_comments": True,
    # Each figure also saved at twice the dpi, offered to high-density screens (srcset).
    "image_srcset": ["2x"],
    # Thumbnails keep a 10:7 frame; custom.css shows them larger than the default
    # 160 px so a single chosen panel (sphinx_gallery_thumbnail_number) stays legible.
    "thumbnail_size": (400, 280),
    # Supported settings instead of rewriting sphinx-gallery's output: no English
    # signature, no run-time line, no execution-times page (which loads jQuery and
    # DataTables from CDNs). The remaining fixed labels are translated on the
    # doctree by _gallery_labels_in_spanish below, which fails loudly if they move.
    "show_signature": False,
    "min_reported_time": float("inf"),
    "write_computation_times": False,
    "only_warn_on_example_error": False,  # a failing script fails the build
    "abort_on_example_error": True,
    # Downloaded notebooks start with a cell that checks for gradcourse (not on PyPI
    # yet) and says how to install it, instead of a %pip line that would fail.
    "first_notebook_cell": (
        "# Este cuaderno usa gradcourse: comprobamos que está instalado.\n"
        "import importlib.util\n\n"
        "if importlib.util.find_spec('gradcourse') is None:\n"
        "    print('Falta gradcourse. Desde una copia del repositorio del curso, ejecuta:\\n'\n"
        "          '    %pip install torch==2.13.0\\n'\n"
        "          '    %pip install /ruta/al/repositorio\\n'\n"
        "          'y reinicia el kernel.')\n"
        "else:\n"
        "    import gradcourse\n\n"
        "    print('gradcourse', gradcourse.__version__)"
    ),
}

# --- API reference ------------------------------------------------------------
# _templates/autosummary: a page per class and function, with the gallery examples using it.
templates_path = ["_templates"]
autosummary_generate = True
autosummary_ignore_module_all = False  # document what each module's __all__ exports
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# --- Bibliography -------------------------------------------------------------
# Numbered bibliography in Spanish ("y", "En", "páginas"), cited by its numbers: [3].
# Both styles are registered as plugins (the documented way to add styles).
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "numerado_es"
bibtex_reference_style = "numero_es"


def _register_bibliography_styles() -> None:
    from dataclasses import dataclass, field

    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin
    from pybtex.style.formatting import toplevel
    from pybtex.style.formatting.plain import Style as Plain
    from pybtex.style.formatting.unsrt import date, pages
    from pybtex.style.template import (
        field as bfield,
    )
    from pybtex.style.template import (
        first_of,
        join,
        names,
        optional,
        optional_field,
        sentence,
        tag,
        words,
    )
    from sphinxcontrib.bibtex.style.referencing import PersonStyle
    from sphinxcontrib.bibtex.style.referencing.label import LabelReferenceStyle

    class NumeradoEs(Plain):
        """pybtex's "plain" (numbered, sorted by author) with its English words in Spanish."""

        def format_names(self, role, as_sentence=True):
            formatted = names(role, sep=", ", sep2=" y ", last_sep=" y ")
            return sentence[formatted] if as_sentence else formatted

        def format_editor(self, e, as_sentence=True):
            editors = self.format_names("editor", as_sentence=False)
            if "editor" not in e.persons:
                return editors
            word = "eds." if len(e.persons["editor"]) > 1 else "ed."
            result = join(sep=" ")[editors, "(" + word + ")"]
            return sentence[result] if as_sentence else result

        def format_volume_and_series(self, e, as_sentence=True):
            result = first_of[
                optional[words["volumen", bfield("volume"), optional[words["de", bfield("series")]]]],
                optional[words["número", bfield("number"), optional[words["de", bfield("series")]]]],
                optional_field("series"),
            ]
            return sentence(capfirst=True)[result] if as_sentence else result

        def format_chapter_and_pages(self, e):
            return join(sep=", ")[
                optional[words["capítulo", bfield("chapter")]],
                optional[words["páginas", pages]],
            ]

        def format_edition(self, e):
            return optional[words[bfield("edition", apply_func=lambda x: x.lower()), "edición"]]

        def get_article_template(self, e):
            volume_and_pages = first_of[
                optional[join[bfield("volume"), optional["(", bfield("number"), ")"], ":", pages]],
                words["páginas", pages],
            ]
            return toplevel[
                self.format_names("author"),
                self.format_title(e, "title"),
                sentence[tag("em")[bfield("journal")], optional[volume_and_pages], date],
                sentence[optional_field("note")],
                self.format_web_refs(e),
            ]

        def get_inproceedings_template(self, e):
            return toplevel[
                sentence[self.format_names("author")],
                self.format_title(e, "title"),
                words[
                    "En",
                    sentence[
                        optional[self.format_editor(e, as_sentence=False)],
                        self.format_btitle(e, "booktitle", as_sentence=False),
                        self.format_volume_and_series(e, as_sentence=False),
                        optional[words["páginas", pages]],
                    ],
                    self.format_address_organization_publisher_date(e),
                ],
                sentence[optional_field("note")],
                self.format_web_refs(e),
            ]

    @dataclass
    class NumeroEs(LabelReferenceStyle):
        """Citations by number, [3]; with :cite:t:, names joined by "y"."""

        person: PersonStyle = field(default_factory=lambda: PersonStyle(sep2=" y ", last_sep=" y "))

    pybtex.plugin.register_plugin("pybtex.style.formatting", "numerado_es", NumeradoEs)
    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", "numero_es", NumeroEs)


_register_bibliography_styles()

# --- HTML ---------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Flujo de gradientes en redes profundas"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_favicon = "_static/favicon.png"
html_search_language = "es"
# Without it the theme logs a console error on a reader's first visit (empty mode).
html_context = {"default_mode": "auto"}
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
    # pydata-sphinx-theme 0.20 fills an empty navbar_persistent with its search field,
    # which adds a top bar to every page holding a hidden copy of the ☰ button; the
    # theme's script wires only the *first* ".primary-toggle" on the page, that hidden
    # one, so ☰ and the contents button did nothing on a phone. No top bar: the
    # article header's buttons are the first toggles and open the sidebars.
    "navbar_persistent": [],
    "search_bar_text": "Buscar en el curso…",
}
togglebutton_hint = "Mostrar"  # sphinx-togglebutton: the hint on folded answers
togglebutton_hint_hide = "Ocultar"

# Intersphinx needs the network; only Read the Docs has it (see .readthedocs.yaml).
if os.environ.get("READTHEDOCS") == "True":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
    }


# --- The interface in Spanish ---------------------------------------------------
# Sphinx's and the themes' Spanish catalogues leave some strings in English ("Link to
# this heading", the search's result line) or get them wrong ("Descarga esta pagina").
# These are ordinary gettext catalogues, compiled below into _build/locale and read
# through `locale_dirs` (Sphinx's "sphinx" catalogue, searched before its own) and
# add_message_catalog (sphinx-book-theme's "booktheme"); the search page's strings
# go to sphinx.js, the catalogue Sphinx copies as _static/translations.js.
INTERFAZ_ES = {
    "Link to this heading": "Enlace a esta sección",
    "Link to this definition": "Enlace a esta definición",
    "Link to this image": "Enlace a esta imagen",
    "Link to this table": "Enlace a esta tabla",
    "Link to this code": "Enlace a este código",
    "Link to this equation": "Enlace a esta ecuación",
    "Link to this term": "Enlace a este término",
    "Search": "Buscar",
    "Site navigation": "Navegación del sitio",
    "Section Navigation": "Navegación de la sección",
    "On this page": "En esta página",
    "Skip to main content": "Saltar al contenido principal",
    "Back to top": "Volver arriba",
    "Color mode": "Modo de color",
    "Light": "Claro",
    "Dark": "Oscuro",
    "System Settings": "Según el sistema",
    "previous page": "página anterior",
    "next page": "página siguiente",
    "previous": "anterior",
    "next": "siguiente",
    "Breadcrumb": "Ruta de navegación",
    "Home": "Inicio",
    "Expand Sidebar": "Mostrar la barra lateral",
    "Collapse Sidebar": "Ocultar la barra lateral",
    "Announcement": "Aviso",
    "Show Source": "Ver el código fuente",
    "Copyright": "Copyright",
    "Created using": "Creado con",
    "Please activate JavaScript to enable the search functionality.":
        "Activa JavaScript para poder buscar en el sitio.",
    "Search Results": "Resultados de la búsqueda",
    "Searching": "Buscando",
    "Preparing search...": "Preparando la búsqueda…",
    "Hide Search Matches": "Ocultar las coincidencias",
    "Your search did not match any documents. Please make sure that all words are spelled "
    "correctly and that you've selected enough categories.":
        "Ninguna página contiene lo que buscas. Comprueba cómo has escrito cada palabra.",
    "Search finished, found one page matching the search query.": (
        "Búsqueda terminada: una página coincide.",
        "Búsqueda terminada: ${resultCount} páginas coinciden.",
    ),
}
INTERFAZ_LIBRO_ES = {  # sphinx-book-theme's own catalogue
    "Download this page": "Descargar esta página",
    "Download source file": "Descargar el archivo fuente",
    "Download notebook file": "Descargar el cuaderno",
    "Print to PDF": "Imprimir en PDF",
    "Contents": "Contenido",
    "Search": "Buscar",
    "By": "Por",
    "Fullscreen mode": "Pantalla completa",
    "Last updated on": "Actualizado el",
    "previous": "anterior",
    "next": "siguiente",
}
LOCALE_DIR = Path(__file__).resolve().parent / "_build" / "locale"


def _write_interface_catalogues() -> None:
    import json

    import sphinx
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    messages = LOCALE_DIR / language / "LC_MESSAGES"
    messages.mkdir(parents=True, exist_ok=True)
    for domain, strings in (("sphinx", INTERFAZ_ES), ("booktheme", INTERFAZ_LIBRO_ES)):
        catalog = Catalog(locale=language, domain=domain)
        for msgid, text in strings.items():
            if isinstance(text, tuple):  # plural forms: "one page" / "N pages"
                catalog.add((msgid, msgid), (text[0], text[1], text[1]))
            else:
                catalog.add(msgid, text)
        with open(messages / f"{domain}.mo", "wb") as f:
            write_mo(f, catalog)
    # The search page's catalogue: Sphinx's own Spanish one, our strings over it.
    own = Path(sphinx.__file__).parent / "locale" / language / "LC_MESSAGES" / "sphinx.js"
    body = own.read_text(encoding="utf-8")
    data = json.loads(body[body.index("(") + 1: body.rindex(")")])
    for msgid, text in INTERFAZ_ES.items():
        data["messages"][msgid] = [text[0], text[1], text[1]] if isinstance(text, tuple) else text
    (messages / "sphinx.js").write_text(
        "Documentation.addTranslations(" + json.dumps(data, ensure_ascii=False, indent=1) + ");\n",
        encoding="utf-8")


_write_interface_catalogues()
locale_dirs = [str(LOCALE_DIR)]


# --- sphinx-gallery's fixed labels in Spanish ------------------------------------
# sphinx-gallery writes a few English labels into each example page ("Go to the end",
# "Download Jupyter notebook: ..."). They are found on the doctree by the CSS classes
# sphinx-gallery documents (sphx-glr-download-link-note, sphx-glr-download-<kind>),
# not by matching their English wording, and an example page where they are not found
# stops the build, so an upgrade that moves them cannot leave English behind silently.
_DOWNLOAD_ES = {
    ("jupyter", False): "Descargar el cuaderno de Jupyter",
    ("python", False): "Descargar el código Python",
    ("zip", False): "Descargar en zip",
    ("jupyter", True): "Descargar todos los ejemplos como cuadernos de Jupyter",
    ("python", True): "Descargar todos los ejemplos en Python",
}


def _gallery_labels_in_spanish(app, doctree):
    from docutils import nodes
    from sphinx.addnodes import download_reference, pending_xref
    from sphinx.errors import ExtensionError

    gallery = sphinx_gallery_conf["gallery_dirs"]
    docname = app.env.docname
    if not docname.startswith(gallery + "/"):
        return
    found = {"note": 0, "download": 0}
    for note in doctree.findall(nodes.Element):
        if "sphx-glr-download-link-note" not in note.get("classes", ()):
            continue
        for para in note.findall(nodes.paragraph):
            xrefs = [c for c in para.children if isinstance(c, pending_xref)]
            if len(xrefs) != 1:
                continue
            xref = xrefs[0]
            for text in list(xref.findall(nodes.Text)):
                text.parent.replace(text, nodes.Text("Ve al final"))
            para.children = [xref, nodes.Text(" para descargar el código completo del ejemplo.")]
            xref.parent = para
            found["note"] += 1
    for box in doctree.findall(nodes.container):
        kinds = [c.removeprefix("sphx-glr-download-") for c in box["classes"]
                 if c.startswith("sphx-glr-download-")]
        if not kinds:
            continue
        whole_gallery = any("sphx-glr-footer-gallery" in getattr(a, "get", lambda *_: ())("classes", ())
                            for a in _ancestors(box))
        label = _DOWNLOAD_ES.get((kinds[0], whole_gallery))
        for ref in box.findall(download_reference):
            for text in list(ref.findall(nodes.Text)):
                name = text.astext().rsplit(": ", 1)[-1].strip()
                if label is None:
                    raise ExtensionError(f"{docname}: sphinx-gallery download of an unknown kind "
                                         f"{kinds[0]!r}; add it to _DOWNLOAD_ES in conf.py")
                text.parent.replace(text, nodes.Text(f"{label}: {name}"))
                found["download"] += 1
    is_example = any("sphx-glr-example-title" in n.get("classes", ())
                     for n in doctree.findall(nodes.Element))
    if is_example and (found["note"] != 1 or found["download"] < 2):
        raise ExtensionError(
            f"{docname}: sphinx-gallery's download note or links were not found "
            f"({found}); its page structure changed, update _gallery_labels_in_spanish in conf.py")


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def setup(app):
    app.add_message_catalog("booktheme", str(LOCALE_DIR))
    app.connect("doctree-read", _gallery_labels_in_spanish)
