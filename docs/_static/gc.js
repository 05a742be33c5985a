// gradcourse: small fixes to the theme's behaviour, on every page.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // On a phone the page contents open in a dialog; a tap on a section jumps there
  // but left the dialog open over the text. Close it (the theme's own close handler
  // puts the contents back in the sidebar).
  ready(function () {
    for (const id of ["pst-secondary-sidebar-modal", "pst-primary-sidebar-modal"]) {
      const dialog = document.getElementById(id);
      if (!dialog) continue;
      dialog.addEventListener("click", function (event) {
        const link = event.target.closest("a[href]");
        if (link && dialog.open && link.hash && link.pathname === location.pathname) dialog.close();
      });
    }
  });

  // A box that scrolls sideways (a long formula, a wide table) can be scrolled with the
  // keyboard: it takes the focus (the theme does the same for code and outputs).
  function focusableScrollers() {
    for (const el of document.querySelectorAll("div.math, .table-wrapper, .cell_output .output.text_html")) {
      if (el.scrollWidth > el.clientWidth + 1) el.tabIndex = 0;
      else el.removeAttribute("tabindex");
    }
  }
  ready(focusableScrollers);
  window.addEventListener("load", focusableScrollers);
  window.addEventListener("resize", function () {
    clearTimeout(focusableScrollers.timer);
    focusableScrollers.timer = setTimeout(focusableScrollers, 300);
  });

  // A printed lesson shows its answers: the folded "Respuesta" blocks open for printing
  // (custom.css does it too where the browser knows ::details-content) and close after.
  window.addEventListener("beforeprint", function () {
    for (const d of document.querySelectorAll("details.sd-dropdown:not([open])")) {
      d.open = true;
      d.dataset.gcPrintOpened = "1";
    }
  });
  window.addEventListener("afterprint", function () {
    for (const d of document.querySelectorAll("details[data-gc-print-opened]")) {
      d.open = false;
      delete d.dataset.gcPrintOpened;
    }
  });

  // sphinx-togglebutton names its buttons "Toggle hidden content", in English and
  // the same for every block: name each after its block's title, in Spanish. Runs
  // after sphinx-togglebutton has added them (it does so when the DOM is ready).
  ready(function () {
    setTimeout(function () {
      for (const button of document.querySelectorAll("button.toggle-button")) {
        const title = button.closest(".admonition-title");
        const text = title ? title.firstChild && title.firstChild.textContent.trim() : "";
        const en = document.documentElement.lang === "en";
        button.setAttribute("aria-label", en ? "Show or hide" + (text ? ": " + text : " the content")
                                             : "Mostrar u ocultar" + (text ? ": " + text : " el contenido"));
      }
    }, 0);
  });
})();
