// After htmx swaps in a form with errors, focus moves to its error summary, so that a
// keyboard or screen-reader user hears what to correct (as after a full page load the
// summary is the first thing announced). Static file: the CSP allows no inline script.
// The whole document is searched: an outerHTML swap replaces the element it targeted.
document.addEventListener("htmx:afterSettle", () => {
  const summary = document.querySelector("[data-error-summary]");
  if (summary && !summary.contains(document.activeElement)) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
});
