// "Copy address" buttons: progressive enhancement. Without JavaScript the buttons stay
// hidden and the address is there to select; with it, a button copies its address.
// Served as a static file: the Content Security Policy allows no inline script.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const status = document.getElementById(button.dataset.status);
    button.hidden = !navigator.clipboard;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        if (status) status.textContent = button.dataset.done;
      } catch {
        if (status) status.textContent = button.dataset.failed;
      }
    });
  }
});
