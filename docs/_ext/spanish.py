"""Sphinx extension: the site's interface in Spanish.

Three pieces, each through a documented mechanism rather than by rewriting output:
gettext catalogues for the strings Sphinx and the themes leave in English, the
bibliography styles (pybtex and sphinxcontrib-bibtex plugins), and sphinx-gallery's
fixed labels, translated on the doctree where its CSS classes mark them.
"""

from __future__ import annotations

from pathlib import Path

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
LOCALE_DIR = Path(__file__).resolve().parents[1] / "_build" / "locale"


def write_catalogues(language: str) -> str:
    """Compile the catalogues into _build/locale; returns that folder for ``locale_dirs``."""
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
    return str(LOCALE_DIR)


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

    gallery = app.config.sphinx_gallery_conf["gallery_dirs"]
    docname = app.env.docname
    if app.config.language != "es" or not docname.startswith(gallery + "/"):
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
                                         f"{kinds[0]!r}; add it to _DOWNLOAD_ES in docs/_ext/spanish.py")
                text.parent.replace(text, nodes.Text(f"{label}: {name}"))
                found["download"] += 1
    is_example = any("sphx-glr-example-title" in n.get("classes", ())
                     for n in doctree.findall(nodes.Element))
    if is_example and (found["note"] != 1 or found["download"] < 2):
        raise ExtensionError(
            f"{docname}: sphinx-gallery's download note or links were not found "
            f"({found}); its page structure changed, update _gallery_labels_in_spanish in docs/_ext/spanish.py")


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def _register_bibliography_styles() -> None:
    """Numbered bibliography with Spanish words, cited by number: [3]."""
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



def setup(app):
    _register_bibliography_styles()
    app.add_message_catalog("booktheme", str(LOCALE_DIR))
    app.connect("doctree-read", _gallery_labels_in_spanish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
