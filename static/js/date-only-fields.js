// Django admin's calendar writes "Note: You are N hours ahead of server time" under every
// date and time input when the browser's time zone differs from the server's. A date-only
// field has no time of day to convert, so there the note only alarms: it is left out for
// date inputs that are not half of a date-and-time pair (Django puts those in p.datetime),
// and kept for times and date-times. Static file: the CSP allows no inline script.
// Runs at DOMContentLoaded, after every script of the page has run and before the window's
// load event, on which DateTimeShortcuts.init adds the notes (and which inlines call again
// for a new row).
document.addEventListener("DOMContentLoaded", () => {
  const shortcuts = window.DateTimeShortcuts;
  if (!shortcuts) {
    return;
  }
  const addTimezoneWarning = shortcuts.addTimezoneWarning;
  shortcuts.addTimezoneWarning = (input) => {
    if (input.classList.contains("vDateField") && !input.closest("p.datetime")) {
      return;
    }
    addTimezoneWarning.call(shortcuts, input);
  };
});
