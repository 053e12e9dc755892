// Forms with data-confirm="question" ask before they are sent (no inline handlers: the pages'
// Content-Security-Policy allows scripts from the registry's own files only).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
