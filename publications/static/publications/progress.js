// Follows a running publication on its admin page: polls the admin's progress.json every second, moves the bar,
// fills in each page's status and link as it finishes, and reloads the page once the publication has finished.
(function () {
  "use strict";
  const box = document.getElementById("publication-progress");
  if (!box || box.dataset.finished === "true") return;
  const bar = document.getElementById("publication-bar");
  const count = document.getElementById("publication-count");
  const state = document.getElementById("publication-state");

  function link(url, text) {
    const a = document.createElement("a");
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = text;
    return a;
  }

  async function poll() {
    let data;
    try {
      const response = await fetch(box.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (error) {
      window.setTimeout(poll, 3000);
      return;
    }
    bar.max = Math.max(data.total, 1);
    bar.value = data.done;
    count.textContent = data.done + " / " + data.total;
    state.textContent = data.state;
    if (data.pages.length > document.querySelectorAll(".page-status").length) {
      // The worker has just planned the pages: load the table of them once, then follow it in place.
      window.location.reload();
      return;
    }
    for (const page of data.pages) {
      const status = document.querySelector('.page-status[data-page="' + page.id + '"]');
      if (status) status.textContent = page.status;
      const cell = document.querySelector('.page-link[data-page="' + page.id + '"]');
      if (cell && page.url && !cell.querySelector("a")) {
        cell.textContent = "";
        cell.appendChild(link(page.url, page.pageId || "open"));
      }
    }
    if (data.finished) {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, 1000);
  }

  window.setTimeout(poll, 1000);
})();
