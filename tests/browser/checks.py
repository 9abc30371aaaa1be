"""What every page must pass in Chromium: it fits, it is axe-clean, every time names its zone.

Each check returns a list of human-readable problems (empty when the page passes), so one run of
the suite reports every page's defects at once.
"""

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()
FAILING_IMPACTS = ("serious", "critical")

# Elements that are meant to scroll sideways: code samples, and containers that say so (the
# settings tab strip on a phone shows a scroll hint). Everything else must fit its container.
_FIT = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    problems.push(`the page scrolls sideways: ${root.scrollWidth}px of content in ${root.clientWidth}px`);
  }
  const label = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    if (!["auto", "scroll", "hidden", "clip"].includes(style.overflowX)) continue;
    if (el.closest("pre, textarea, input, select, [data-scrolls-sideways], .visually-hidden")) continue;
    // text-overflow: ellipsis is a deliberate cut with the full value in the title
    if (style.textOverflow === "ellipsis") continue;
    // 1px boxes are visually hidden text for screen readers (and a phone's hidden table heads).
    if (el.clientWidth > 2 && el.scrollWidth > el.clientWidth + 1) {
      const inner = [...el.querySelectorAll("*")].filter(
        (child) => child.getBoundingClientRect().right > el.getBoundingClientRect().right + 1
      ).slice(0, 3).map(label);
      problems.push(`${label(el)} is ${el.scrollWidth}px wide inside ${el.clientWidth}px (sticking out: ${inner.join(", ")})`);
    }
  }
  return problems;
}"""

# A moment is shown through {% when %}: a <time> naming its zone (or relative), UTC on hover.
# Any other date-looking text is a time without a zone.
_TIMES = r"""() => {
  const problems = [];
  for (const node of document.querySelectorAll("time")) {
    const text = node.textContent.trim();
    const title = node.getAttribute("title") || "";
    if (!node.dataset.zone) problems.push(`<time> not from {% when %}: "${text}"`);
    if (!/UTC/.test(title)) problems.push(`no UTC value on hover: "${text}"`);
    const relative = /^(just now|in \S.*|.* ago)$/.test(text);
    if (!relative && !/\b(UTC([+-]\d{2}(:?\d{2})?)?|[A-Z]{3,5})\b/.test(text)) {
      problems.push(`time without a zone: "${text}"`);
    }
  }
  const date = /\b\d{4}-\d{2}-\d{2}(?![T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?\s?(Z|[+-]\d{2}:?\d{2}|UTC|[A-Z]{3,5})\b| \(UTC day\))|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}\b|\b\d{1,2}:\d{2}\s?(AM|PM)\b/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    if (node.parentElement.closest("time, script, style, option, [hidden]")) continue;
    const match = node.textContent.match(date);
    if (match) problems.push(`a date outside {% when %}: "${node.textContent.trim().slice(0, 80)}"`);
  }
  return problems;
}"""


def fit_problems(page) -> list[str]:
    return page.evaluate(_FIT)


def time_problems(page) -> list[str]:
    return page.evaluate(_TIMES)


def axe_problems(page) -> list[str]:
    """Serious and critical axe-core violations (axe-core is bundled: no network)."""
    results = _axe.run(page)
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:4]]
            problems.append(
                f"axe {violation['impact']} {violation['id']} ({len(violation['nodes'])}x): "
                f"{violation['help']} at {targets}"
            )
    return problems
