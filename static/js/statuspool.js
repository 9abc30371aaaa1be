// The little JavaScript the dashboard needs: copy buttons, confirmation prompts, local times and
// focus on the first field with an error. Every page works without it.

// One polite live region, so screen readers hear "Copied" and similar short news.
function announce(text) {
  let region = document.getElementById("sp-live-region");
  if (!region) {
    region = document.createElement("div");
    region.id = "sp-live-region";
    region.className = "visually-hidden";
    region.setAttribute("aria-live", "polite");
    document.body.appendChild(region);
  }
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy-target]");
  if (!copy) {
    return;
  }
  const source = document.getElementById(copy.dataset.copyTarget);
  if (!source) {
    return;
  }
  const text = source.value !== undefined ? source.value : source.innerText.trim();
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
  if (copy.dataset.copyLabel === undefined) {
    copy.dataset.copyLabel = copy.innerHTML;  // keeps any visually hidden part of the label
  }
  clearTimeout(Number(copy.dataset.copyTimer || 0));
  copy.textContent = "Copied";
  announce("Copied to the clipboard");
  copy.dataset.copyTimer = String(setTimeout(() => { copy.innerHTML = copy.dataset.copyLabel; }, 2000));
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  // Times rendered as <time datetime="…" data-local> are shown in the viewer's time zone; the UTC
  // value stays in the title for hover.
  for (const node of document.querySelectorAll("time[data-local]")) {
    const date = new Date(node.getAttribute("datetime"));
    if (!isNaN(date)) {
      node.title = node.getAttribute("datetime").replace("T", " ").replace("+00:00", " UTC");
      node.textContent = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  }
  // On a narrow screen the settings menu is one scrollable row: bring the current page's tab into it.
  const sidebar = document.querySelector(".sidebar");
  const current = sidebar && sidebar.querySelector("[aria-current='page']");
  if (current && sidebar.scrollWidth > sidebar.clientWidth) {
    sidebar.scrollLeft = Math.max(0, current.offsetLeft - 16);
  }
  // After a refused form, put the cursor in the first field that needs fixing (its error is read
  // out through aria-describedby), so nobody has to hunt for it on a long form or a small screen.
  const invalid = document.querySelector("main form [aria-invalid='true']");
  if (invalid) {
    invalid.focus({ preventScroll: true });
    invalid.scrollIntoView({ block: "center" });
  }
});
