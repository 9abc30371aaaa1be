// The little JavaScript the dashboard needs: copy buttons and confirmation prompts.
document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy-target]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copyTarget);
    const text = source.value !== undefined ? source.value : source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    const label = copy.textContent;
    copy.textContent = "Copied";
    copy.setAttribute("aria-live", "polite");
    setTimeout(() => { copy.textContent = label; }, 2000);
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
// Times rendered as <time datetime="…" data-local> are shown in the viewer's time zone; the UTC
// value stays in the title for hover.
document.addEventListener("DOMContentLoaded", () => {
  for (const node of document.querySelectorAll("time[data-local]")) {
    const date = new Date(node.getAttribute("datetime"));
    if (!isNaN(date)) {
      node.title = node.getAttribute("datetime").replace("T", " ").replace("+00:00", " UTC");
      node.textContent = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }
});
