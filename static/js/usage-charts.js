// The usage charts (a key, an OAuth application, a connected application, Settings → Usage), drawn
// with the vendored Chart.js (static/vendor/chartjs) from the figures the page carries in
// <script type="application/json" id="usage-chart-data"> (Django's json_script). Nothing inline:
// the Content-Security-Policy allows only scripts and styles from this site. Every chart has a
// table of the same numbers under it, so the page is whole without this script; the chart boxes
// stay hidden until a chart is drawn in them.

(() => {
  const source = document.getElementById("usage-chart-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);

  // Status classes: distinguishable without colour vision (blue / ochre / light purple / dark red
  // differ in lightness too), each at least 3:1 against the white panel; the legend and the
  // tables name them.
  const STATUS_COLOURS = {
    ok: "#0072B2",
    client_errors: "#AD6800",
    rate_limited: "#CC79A7",
    server_errors: "#8B1A1A",
  };
  const TEXT = "#1b1f24";
  const GRID = "#e6e9ee";
  const READ = "#0072B2";
  const WRITE = "#AD6800";

  Chart.defaults.color = TEXT;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  // Figures, not a show: drawn at once (and what a screenshot or a screen reader meets is final).
  Chart.defaults.animation = false;

  const number = new Intl.NumberFormat();

  function box(name) {
    return document.querySelector(`[data-usage-chart="${name}"]`);
  }

  function draw(name, config) {
    const container = box(name);
    if (!container) {
      return;
    }
    container.hidden = false;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options);
    new Chart(container.querySelector("canvas"), config);
  }

  function timeAxis(stacked) {
    return {
      stacked,
      offset: true, // the line chart's points sit over the bar chart's bars
      title: { display: true, text: data.axis },
      grid: { display: false },
      ticks: { autoSkip: true, maxRotation: 0, maxTicksLimit: window.innerWidth < 600 ? 5 : 12 },
    };
  }

  function countAxis(stacked, title) {
    return {
      stacked,
      beginAtZero: true,
      title: { display: Boolean(title), text: title },
      grid: { color: GRID },
      ticks: { precision: 0 },
    };
  }

  if (data.statuses) {
    draw("requests", {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.statuses.map((series) => ({
          label: series.label,
          data: series.data,
          backgroundColor: STATUS_COLOURS[series.key],
          borderColor: "#ffffff",
          borderWidth: { top: 1 },
          maxBarThickness: 48,
        })),
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: { x: timeAxis(true), y: countAxis(true, `Requests per ${data.per}`) },
        plugins: { legend: { position: "bottom" } },
      },
    });
    draw("latency", {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{
          label: "p95 latency (ms)",
          data: data.p95,
          borderColor: TEXT,
          backgroundColor: TEXT,
          pointRadius: 3,
          spanGaps: false,
        }],
      },
      options: {
        scales: { x: timeAxis(false), y: countAxis(false, "Milliseconds") },
        plugins: { legend: { display: false } },
      },
    });
    // Chart.js gives the labels at most about half the width: fewer characters on a phone.
    const room = window.innerWidth < 600 ? 17 : 30;
    const shorten = (label) => (label.length > room ? `${label.slice(0, room - 1)}…` : label);
    const horizontal = (labels, datasets) => ({
      type: "bar",
      data: { labels, datasets: datasets.map((set) => Object.assign({ maxBarThickness: 28 }, set)) },
      options: {
        indexAxis: "y",
        scales: {
          x: countAxis(true, "Requests"),
          y: {
            stacked: true,
            grid: { display: false },
            // Long paths are cut on the chart (the table beside it has them whole).
            ticks: { autoSkip: false, callback: (value) => shorten(labels[value]) },
          },
        },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
      },
    });
    if (data.endpoints.labels.length) {
      draw("endpoints", horizontal(data.endpoints.labels, [
        { label: "Succeeded", data: data.endpoints.succeeded, backgroundColor: STATUS_COLOURS.ok },
        { label: "Errors (4xx, 429, 5xx)", data: data.endpoints.errors, backgroundColor: STATUS_COLOURS.server_errors },
      ]));
    }
    if (data.clients.labels.length) {
      draw("clients", horizontal(data.clients.labels, [
        { label: "Requests", data: data.clients.requests, backgroundColor: STATUS_COLOURS.ok },
      ]));
    }
  }

  if (data.read) {
    // Settings → Usage: the busiest minute of any one credential per hour/day, against the plan's
    // per-minute limits (which count per credential, so that is the comparison that matters).
    const limitLine = (label, value, colour) => ({
      type: "line",
      label,
      data: data.labels.map(() => value),
      borderColor: colour,
      borderDash: [6, 4],
      borderWidth: 2,
      pointRadius: 0,
    });
    draw("peaks", {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Busiest minute, reads", data: data.read, backgroundColor: READ },
          { label: "Busiest minute, writes", data: data.write, backgroundColor: WRITE },
          limitLine(`Read limit (${number.format(data.read_limit)}/min)`, data.read_limit, READ),
          limitLine(`Write limit (${number.format(data.write_limit)}/min)`, data.write_limit, WRITE),
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: timeAxis(false),
          // Logarithmic: a busiest minute of 4 requests and a limit of 2,400 are both readable.
          y: {
            type: "logarithmic",
            min: 0.5,
            title: { display: true, text: "Per minute (log scale)" },
            grid: { color: GRID },
            ticks: {
              callback: (value) => ([1, 10, 100, 1000, 10000, 100000].includes(value) ? number.format(value) : ""),
            },
          },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
})();
