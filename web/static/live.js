// live.js keeps the page of a running run up to date: it follows the run's
// Server-Sent Events (/r/KEY/events), and on each "update" fetches the page
// again and swaps its content in place (no reload: the scroll position and
// the folded or unfolded steps stay); on "done" it loads the complete
// result. The page reads fine without it (it refreshes itself every few
// seconds in <noscript>).
(() => {
  "use strict";
  const live = document.getElementById("live");
  if (!live || !window.EventSource || !window.fetch) return;
  const page = live.dataset.page;
  let sig = live.dataset.sig;
  let busy = false, again = false, finished = false;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const resp = await fetch(page, {cache: "no-store", headers: {Accept: "text/html"}});
      if (!resp.ok) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const next = doc.getElementById("live");
      if (!next) { finish(); return; } // the run became a complete result
      const cur = document.getElementById("live");
      // Keep the steps the reader folded or unfolded as they were.
      const open = new Map([...cur.querySelectorAll("details[id]")].map(d => [d.id, d.open]));
      for (const d of next.querySelectorAll("details[id]")) {
        if (open.has(d.id)) d.open = open.get(d.id);
      }
      cur.replaceChildren(...[...next.childNodes].map(n => document.adoptNode(n)));
      cur.dataset.sig = next.dataset.sig;
      document.title = doc.title;
    } catch (e) {
      // The network hiccupped: the next update tries again.
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  function finish() {
    if (finished) return;
    finished = true;
    es.close();
    location.reload();
  }

  const es = new EventSource(live.dataset.events);
  es.addEventListener("update", e => {
    if (e.data === sig) return;
    sig = e.data;
    refresh();
  });
  es.addEventListener("done", finish);
})();
