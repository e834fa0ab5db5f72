// Review pages: decisions without reload, evidence that seeks the player, taxonomy search,
// keyboard shortcuts (j past a list page's last row opens the next page). Catalog text goes
// into the page only through textContent. URLs with a title id come from the server
// (data-title-url, built by url_for), which alone knows how ids are encoded; scripts only
// append the fixed suffixes. No inline handlers: the page's CSP forbids them.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const flashBox = document.getElementById("flash");
  const player = document.getElementById("player");

  function flash(message, isError) {
    flashBox.textContent = message;
    flashBox.className = isError ? "error" : "ok";
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return {ok: response.ok, status: response.status, data};
  }

  function comment() {
    const box = document.getElementById("comment");
    return box && box.value.trim() ? box.value.trim() : undefined;
  }

  function showTag(row, tag) {
    const selected = row.classList.contains("selected");
    row.className = "tag status-" + tag.status + (selected ? " selected" : "");
    row.dataset.version = tag.version;
    row.querySelector(".badge").textContent = tag.status;
    row.querySelector(".editor").textContent = tag.editor ? "by " + tag.editor : "";
  }

  async function decide(row, action) {
    const body = {tag: row.dataset.tag, action, version: Number(row.dataset.version)};
    const note = comment();
    if (note) body.comment = note;
    const result = await api("POST", row.dataset.titleUrl + "/decisions", body);
    if (result.ok) {
      showTag(row, result.data);
      flash(result.data.label + ": " + result.data.status);
      return true;
    }
    flash((result.data && result.data.error) || ("HTTP " + result.status), true);
    if (result.status === 409 && result.data && result.data.current) showTag(row, result.data.current);
    return false;
  }

  function seek(seconds) {
    if (!player) return;
    player.currentTime = seconds;
    document.querySelectorAll(".scene").forEach(function (b) {
      const start = Number(b.dataset.time), end = Number(b.dataset.end);
      b.classList.toggle("current", seconds >= start && seconds < end);
    });
  }

  document.addEventListener("click", function (event) {
    const actionButton = event.target.closest("[data-action]");
    if (actionButton) {
      const row = actionButton.closest("tr.tag");
      select(row);
      decide(row, actionButton.dataset.action);
      return;
    }
    const jump = event.target.closest("[data-time]");
    if (jump) seek(Number(jump.dataset.time));
    const row = event.target.closest("tr.tag");
    if (row && !event.target.closest("a")) select(row);   // the keys act on the row clicked last
  });

  // -- selection and keyboard -----------------------------------------------------------
  function rows() { return Array.from(document.querySelectorAll("tr.tag")); }
  function select(row) {
    rows().forEach(function (r) { r.classList.toggle("selected", r === row); });
    if (row) row.focus({preventScroll: false});
  }
  function selected() { return document.querySelector("tr.tag.selected"); }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(selected());
    const next = document.querySelector('a[rel="next"]');
    if (step > 0 && at === all.length - 1 && next) {   // past the page's last row: the next page
      window.location = next.href;
      return;
    }
    select(all[Math.max(0, Math.min(all.length - 1, at + step))]);
  }

  document.addEventListener("keydown", async function (event) {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const row = selected();
    if (event.key === "j") move(1);
    else if (event.key === "k") move(-1);
    else if ((event.key === "a" || event.key === "r") && row) {
      if (await decide(row, event.key === "a" ? "accept" : "reject")) move(1);
    } else if (event.key === "o" && row && row.dataset.href) window.location = row.dataset.href;
    else if (event.key === "/" && document.getElementById("add-search")) {
      event.preventDefault();
      document.getElementById("add-search").focus();
    } else return;
    event.preventDefault();
  });

  // -- add a tag from the taxonomy -------------------------------------------------------
  const search = document.getElementById("add-search");
  const results = document.getElementById("add-results");

  function facetTable(facet) {
    let section = document.querySelector('section.facet[data-facet="' + CSS.escape(facet) + '"]');
    if (!section) {
      section = document.getElementById("facet-template").content.firstElementChild.cloneNode(true);
      section.dataset.facet = facet;
      section.querySelector("h3").textContent = facet.replace(/_/g, " ");
      document.getElementById("tags").prepend(section);
    }
    return section.querySelector("tbody");
  }

  function addRow(titleId, titleUrl, tag) {
    const row = document.getElementById("row-template").content.firstElementChild.cloneNode(true);
    row.dataset.titleId = titleId;
    row.dataset.titleUrl = titleUrl;
    row.dataset.tag = tag.tag;
    row.querySelector(".label").textContent = tag.label;
    row.querySelector(".tag-id").textContent = tag.tag;
    row.querySelector(".bar rect").setAttribute("width", Math.round(tag.confidence * 100));
    row.querySelector(".bar title").textContent = tag.confidence.toFixed(2);
    row.querySelector(".conf-value").textContent = tag.confidence.toFixed(2);
    showTag(row, tag);
    facetTable(tag.facet).prepend(row);
    return row;
  }

  async function add(titleId, titleUrl, tagId) {
    const body = {tag: tagId, action: "add", version: 0};
    const note = comment();
    if (note) body.comment = note;
    const result = await api("POST", titleUrl + "/decisions", body);
    if (!result.ok) {
      flash((result.data && result.data.error) || ("HTTP " + result.status), true);
      return;
    }
    select(addRow(titleId, titleUrl, result.data));
    flash(result.data.label + ": added");
    search.value = "";
    results.replaceChildren();
  }

  let pending = null;
  async function runSearch() {
    const titleId = search.dataset.titleId, titleUrl = search.dataset.titleUrl;
    const query = search.value.trim();
    if (!query) { results.replaceChildren(); return; }
    const result = await api("GET", titleUrl + "/taxonomy?q=" + encodeURIComponent(query));
    if (!result.ok || search.value.trim() !== query) return;   // a newer query is on its way
    results.replaceChildren(...result.data.map(function (hit) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "add-hit";
      button.dataset.tag = hit.tag;
      button.textContent = hit.label + " (" + hit.facet + "/" + hit.tag + ")";
      button.title = hit.description;
      button.addEventListener("click", function () { add(titleId, titleUrl, hit.tag); });
      item.append(button);
      return item;
    }));
    if (!result.data.length) {
      const item = document.createElement("li");
      item.textContent = "No tag matches.";
      results.append(item);
    }
  }
  if (search) {
    search.addEventListener("input", function () {
      clearTimeout(pending);
      pending = setTimeout(runSearch, 150);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape") search.blur();
      if (event.key === "Enter") {
        event.preventDefault();
        const first = results.querySelector("button.add-hit");
        if (first) first.click();
      }
    });
  }

  // -- filters that apply as soon as they change (the queue's facet) --------------------
  document.querySelectorAll("select[data-autosubmit]").forEach(function (box) {
    box.addEventListener("change", function () { box.form.submit(); });
  });

  // -- bulk accept on the title page ----------------------------------------------------
  const bulk = document.getElementById("bulk");
  if (bulk) {
    bulk.addEventListener("submit", async function (event) {
      event.preventDefault();
      const body = {action: "accept", title: bulk.dataset.titleId,
                    min_confidence: Number(document.getElementById("bulk-min").value)};
      const facet = document.getElementById("bulk-facet").value;
      if (facet) body.facet = facet;
      const note = comment();
      if (note) body.comment = note;
      const result = await api("POST", "/api/bulk", body);
      if (!result.ok) {
        flash((result.data && result.data.error) || ("HTTP " + result.status), true);
        return;
      }
      result.data.forEach(function (tag) {
        const row = document.querySelector('tr.tag[data-tag="' + CSS.escape(tag.tag) + '"]');
        if (row) showTag(row, tag);
      });
      flash(result.data.length + " tag(s) accepted");
    });
  }
})();
