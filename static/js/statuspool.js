// The little JavaScript the dashboard needs: copy buttons, confirmation prompts, time-zone detection and
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

// "Add my address": appends a value as a new line of a textarea (the allowlist's add field).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-append-to]");
  const field = button && document.getElementById(button.dataset.appendTo);
  if (!field) {
    return;
  }
  const lines = field.value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (!lines.includes(button.dataset.value)) {
    lines.push(button.dataset.value);
  }
  field.value = lines.join("\n");
  field.focus();
  announce(`Added ${button.dataset.value}`);
});

// Edit scopes: the password and code are needed only when a scope is added, so the fields show
// only then (without JavaScript they always show, and the server asks only when needed).
function toggleSudoForAddedScopes() {
  for (const box of document.querySelectorAll("[data-needed-when-adding]")) {
    const had = box.dataset.neededWhenAdding.split(" ");
    const form = box.closest("form");
    const adding = [...form.querySelectorAll("input[name=scopes]:checked")]
      .some((input) => !had.includes(input.value));
    box.hidden = !adding;
    for (const input of box.querySelectorAll("input")) {
      input.disabled = !adding;
    }
  }
}
document.addEventListener("change", (event) => {
  if (event.target.matches("input[name=scopes]")) {
    toggleSudoForAddedScopes();
  }
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A user's time zone starts out unknown: the first dashboard page sends the browser's zone once,
// then shows itself again with every time in that zone. Afterwards only Security changes it.
function detectTimeZone() {
  const url = document.body.dataset.detectTimeZone;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!url || !zone) {
    return;
  }
  const body = new URLSearchParams({ time_zone: zone, detected: "1" });
  fetch(url, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": document.body.dataset.csrfToken },
  }).then((response) => {
    if (response.status === 204 && zone !== "UTC") {
      window.location.reload();
    }
  }).catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  detectTimeZone();
  toggleSudoForAddedScopes();
  // On a narrow screen the settings menu is one scrollable row: bring the current page's tab into it.
  const sidebar = document.querySelector(".sidebar");
  const current = sidebar && sidebar.querySelector("[aria-current='page']");
  if (current && sidebar.scrollWidth > sidebar.clientWidth) {
    sidebar.scrollLeft = Math.max(0, current.offsetLeft - 16);
  }
  // While tabs are hidden to the right, the strip fades out at its edge to say it scrolls.
  if (sidebar) {
    const hint = () => sidebar.classList.toggle(
      "scrolls-more", sidebar.scrollLeft + sidebar.clientWidth < sidebar.scrollWidth - 4
    );
    sidebar.addEventListener("scroll", hint, { passive: true });
    window.addEventListener("resize", hint);
    hint();
  }
  // After a refused form, put the cursor in the first field that needs fixing (its error is read
  // out through aria-describedby), so nobody has to hunt for it on a long form or a small screen.
  const invalid = document.querySelector("main form [aria-invalid='true']");
  if (invalid) {
    invalid.focus({ preventScroll: true });
    invalid.scrollIntoView({ block: "center" });
  }
});
