// The search page's previews: the text of the article only, not the theme's buttons,
// printed contents, page links or download notes that surround it in [role=main],
// and formulas as the symbols a reader sees. Loaded by the search page only
// (docs/_ext/lean_pages.py); wraps Sphinx's own Search.htmlToText.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  // searchtools.js declares `const Search`: a global binding, not a property of window
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const CHROME = [".bd-header-article", "#jb-print-docs-body", ".onlyprint", ".prev-next-area",
    ".bd-sidebar-secondary", "footer", "button", ".sphx-glr-download-link-note", ".sphx-glr-footer",
    "details.hide > summary", ".d-print-none"];
  const original = Search.htmlToText;
  Search.htmlToText = function (htmlString, anchor) {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(CHROME.join(", ")).forEach((el) => el.remove());
    doc.querySelectorAll("math").forEach((m) => m.replaceWith(" " + m.textContent.replace(/\s+/g, "") + " "));
    return original(doc.documentElement.outerHTML, anchor).replace(/\s+/g, " ");
  };
});
