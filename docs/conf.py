"""Sphinx configuration of the gradcourse site (Spanish)."""

import os

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

exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json"]

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
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- HTML ---------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Flujo de gradientes en redes profundas"
html_static_path = ["_static"]
html_css_files = ["custom.css"]  # white backgrounds for figures in dark mode
html_search_language = "es"
# Without it the theme logs a console error on a reader's first visit (empty mode).
html_context = {"default_mode": "auto"}
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
}

# Intersphinx needs the network; only Read the Docs has it (see .readthedocs.yaml).
if os.environ.get("READTHEDOCS") == "True":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
    }


# sphinx-gallery writes its pages in English and its execution-times table loads
# jQuery and DataTables from CDNs. Translate the fixed strings and drop that raw
# HTML block (the plain table stays), so every page is Spanish and works offline.
_GALLERY_ES = {
    "Go to the end": "Ve al final",
    "to download the full example code.": "para descargar el código completo del ejemplo.",
    "Total running time of the script:": "Tiempo total de ejecución del script:",
    "Download Jupyter notebook:": "Descargar el cuaderno de Jupyter:",
    "Download Python source code:": "Descargar el código Python:",
    "Download zipped:": "Descargar en zip:",
    "Download all examples in Python source code:": "Descargar todos los ejemplos en Python:",
    "Download all examples in Jupyter notebooks:": "Descargar todos los ejemplos como cuadernos:",
    "Gallery generated by Sphinx-Gallery": "Galería generada con Sphinx-Gallery",
    "Computation times\n=================": "Tiempos de ejecución\n====================",
    "total execution time for": "de ejecución en total para",
    " files **from auto_examples**": " ejemplos **de la galería**",
    " files **from all galleries**": " ejemplos **de todas las galerías**",
    "   * - Example\n     - Time\n     - Mem (MB)": "   * - Ejemplo\n     - Tiempo\n     - Memoria (MB)",
}


def _gallery_in_spanish_offline(app, docname, source):
    if not (docname.startswith("auto_examples/") or docname == "sg_execution_times"):
        return
    import re

    text = re.sub(r"  \.\. raw:: html\n.*?(?=  \.\. list-table::)", "", source[0], flags=re.S)
    for en, es in _GALLERY_ES.items():
        text = text.replace(en, es)
    source[0] = text


def setup(app):
    app.connect("source-read", _gallery_in_spanish_offline)
