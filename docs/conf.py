"""Sphinx configuration of the gradcourse site (Spanish; English with GRADCOURSE_LANG=en)."""

import os
import sys
from pathlib import Path

# The site's own extensions: docs/_ext (the explorer page, the Spanish interface).
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
import spanish

# Executed pages and gallery scripts are small torch workloads: one thread is as
# fast as two here (tests/bench_threads.py) and leaves the other core free.
# Kernels started by myst-nb inherit these variables; progress bars stay off.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("GRADCOURSE_PROGRESS", "0")

project = "gradcourse"
author = "gradcourse"
copyright = "2026, gradcourse"
# Spanish first. The Makefile builds the English edition from the same sources with
# GRADCOURSE_LANG=en (docs/_ext/english.py): the variable also reaches the pages' kernels
# and the gallery's scripts, so gradcourse labels their figures in English there.
language = os.environ.get("GRADCOURSE_LANG") or "es"

extensions = [
    "myst_nb",  # MyST Markdown + executed notebooks with glue
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # Google-style docstrings
    "mathml",  # docs/_ext/mathml.py: formulas as MathML at build time (no MathJax to load)
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinx_togglebutton",
    "sphinxcontrib.bibtex",
    "spanish",  # docs/_ext/spanish.py: interface strings, gallery labels, bibliography
    "explorer",  # docs/_ext/explorer.py: the {explorer} directive, data computed by gradcourse
    "gallery_pages",  # docs/_ext/gallery_pages.py: figures' alt text, downloads outside "Comprobación"
    "accessible",  # docs/_ext/accessible.py: bibliography roles, folded cells' names, no stray fragments
    "lean_pages",  # docs/_ext/lean_pages.py: each page loads only the assets it uses; a small icon font
    "read_order",  # docs/_ext/read_order.py: executed pages spread over the parallel reads (-j)
    "english",  # docs/_ext/english.py: the English edition's settings, language switch, checks
]
html_math_renderer = "mathml"

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
    # Examples run in worker processes, one per core (joblib): each is one-threaded and
    # independent. Pages are read (and executed) in parallel too: the Makefile's -j auto.
    "parallel": os.cpu_count() or 1,
    # Each figure's alt text is its label, set by the script: fig.set_label("...").
    # (A name, not the function: the configuration stays picklable for Sphinx's cache.)
    "image_scrapers": ("gallery_pages.alt_text_scraper",),
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
# Both styles are registered by docs/_ext/spanish.py (the documented plugin way).
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "numerado_es"
bibtex_reference_style = "numero_es"

# --- HTML ---------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Flujo de gradientes en redes profundas"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_js_files = ["gc.js"]
html_favicon = "_static/favicon.png"
html_search_language = language
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
    # The link to the same page in the other language, before the theme's buttons.
    "article_header_end": ["language-switch.html", "article-header-buttons.html"],
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
# Strings the themes and Sphinx leave in English are compiled into gettext catalogues
# before Sphinx reads its translations (docs/_ext/spanish.py); the extension also
# translates sphinx-gallery's fixed labels and registers the bibliography styles.
# The English edition's translations are the catalogues in locale/en/LC_MESSAGES, one per
# page (gettext_compact off): `make catalogues` extracts the Spanish text and updates them.
gettext_compact = False
locale_dirs = [spanish.write_catalogues(language)] if language == "es" else []
locale_dirs.append("locale")
