// Tocsin console: keeps the page live. The server renders every page whole;
// this module only applies the changes the websocket brings (counters,
// officials' rows, timeline) and runs the countdowns. Without it the
// pages still work: reload to see changes.
//
// Protocol: one JSON message per frame. Messages that come from a change
// carry its etcd revision ("rev"); on reconnect the page sends the last one
// it saw (depuis=) and the server replays what it missed. Close codes:
// 4001 reload the page, 4002 too slow (reconnect), 4003 session ended.

const body = document.body;
const live = body.dataset.live || "";
// Pages without their own feed follow every activation's counters, only
// to raise the alerts (see attention below).
const alertsOnly = !live && body.dataset.alerts === "on";
const me = body.dataset.user || "";
let query = ""; // the officials' search, folded
let rev = Number(body.dataset.rev || 0);
let retries = 0;

function setLiveStatus(text, kind) {
  for (const el of document.querySelectorAll("[data-live-status]")) {
    el.textContent = text;
    el.classList.remove("fr-badge--success", "fr-badge--warning", "fr-badge--error");
    if (kind) el.classList.add("fr-badge--" + kind);
  }
}

function connect() {
  const params = new URLSearchParams();
  if (live && live !== "tableau") params.set("activation", live);
  if (rev > 0) params.set("depuis", String(rev));
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws?${params}`);
  ws.addEventListener("open", () => {
    retries = 0;
    body.dataset.connected = "on";
    setLiveStatus("en direct", "success");
  });
  ws.addEventListener("message", (e) => {
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    if (m.rev && m.rev > rev) rev = m.rev;
    handle(m);
  });
  ws.addEventListener("close", (e) => {
    if (e.code === 4001) {
      location.reload();
      return;
    }
    if (e.code === 4003) {
      location.assign("/connexion?suivant=" + encodeURIComponent(location.pathname + location.search));
      return;
    }
    setLiveStatus("reconnexion…", "warning");
    const delay = Math.min(10000, 500 * 2 ** retries++) * (0.5 + Math.random() / 2);
    setTimeout(connect, delay);
  });
}

function handle(m) {
  switch (m.type) {
    case "summary":
      attend(m);
      updateCounters(m.activation, m.counters);
      if (m.state) updateState(m.activation, m.state);
      break;
    case "activation":
      updateState(m.activation, m.state);
      break;
    case "recipient":
      updateRow(m.row);
      break;
    case "event":
      addEvent(m.event);
      if (m.event && m.event.kind === "reply") addReply(m.activation, m.event);
      break;
    case "cip":
      refreshCIP(m.activation);
      break;
  }
}

// The CIP page: a change to the CIP (its operators, a call to the public
// line) makes the page read itself again, at most every half second, and
// swap the parts marked data-cip-live. A form being used is left alone;
// when the CIP was opened or closed meanwhile, the page reloads, since its
// actions change.
let cipTimer = 0;

function refreshCIP(id) {
  const panel = document.querySelector(`[data-cip-panel="${CSS.escape(id)}"]`);
  if (!panel || cipTimer) return;
  cipTimer = setTimeout(async () => {
    cipTimer = 0;
    let html;
    try {
      const resp = await fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!resp.ok) return;
      html = await resp.text();
    } catch {
      return;
    }
    const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(`[data-cip-panel="${CSS.escape(id)}"]`);
    if (!fresh) return;
    if (fresh.dataset.cipOpen !== panel.dataset.cipOpen || fresh.dataset.cipCell !== panel.dataset.cipCell) {
      location.reload();
      return;
    }
    const now = panel.querySelectorAll("[data-cip-live]");
    const next = fresh.querySelectorAll("[data-cip-live]");
    if (now.length !== next.length) {
      location.reload();
      return;
    }
    now.forEach((el, i) => {
      if (el.contains(document.activeElement) || el.innerHTML === next[i].innerHTML) return;
      el.innerHTML = next[i].innerHTML;
      el.classList.remove("tc-changed");
      void el.offsetWidth; // restart the highlight
      el.classList.add("tc-changed");
    });
  }, 500);
}

function scopes(id) {
  return document.querySelectorAll(`[data-activation="${CSS.escape(id)}"]`);
}

// The tab's title says how many officials are to call by hand, so that an
// officer on another tab sees the list grow.
const baseTitle = document.title;

function showToCall(n) {
  if (n === undefined) return;
  document.title = n > 0 ? `(${n} à appeler) ${baseTitle}` : baseTitle;
}

// Attention when it matters, on every page: when officials join the « à
// appeler » list, and fifteen minutes before the hour while some are not
// informed. The page says it (an alert at the top, the tab's title), and,
// when the officer allowed them with the « Alertes » button, a browser
// notification and a short sound.
const followed = new Map(); // activation → {title, manual, notInformed, deadline, warned}
const attentionBox = document.getElementById("tc-attention");
const alertsButton = document.getElementById("tc-alertes");
let sound = localStorage.getItem("tocsin-son") === "on";

function attend(m) {
  if (!m.counters) return;
  const prev = followed.get(m.activation);
  const cur = {
    title: m.title || (prev && prev.title) || m.activation,
    manual: m.counters.manual,
    notInformed: m.counters.not_informed,
    deadline: m.deadline ? Date.parse(m.deadline) : prev && prev.deadline,
    warned: prev ? prev.warned : m.snapshot && m.deadline && Date.parse(m.deadline) - Date.now() <= 15 * 60 * 1000,
    late: !!m.late,
    open: m.state ? m.state === "open" : !prev || prev.open,
  };
  followed.set(m.activation, cur);
  // A snapshot is where things stand when the page connects; a change with
  // nothing before it counts from zero (an alert too many rather than one
  // missed).
  const before = m.snapshot ? cur.manual : prev ? prev.manual : 0;
  if (cur.open && cur.late && !(prev ? prev.late : m.snapshot)) {
    alertNow(m.activation, `La prévision dit que l'heure ne sera pas tenue : ${cur.notInformed} élu${cur.notInformed > 1 ? "s" : ""} non informé${cur.notInformed > 1 ? "s" : ""} — ${cur.title}`);
  }
  if (cur.open && cur.manual > before) {
    const n = cur.manual - before;
    alertNow(m.activation, `${n} élu${n > 1 ? "s" : ""} de plus à appeler à la main (${cur.manual} en tout) — ${cur.title}`);
  }
  if (!live || live === "tableau") {
    let total = 0;
    for (const a of followed.values()) if (a.open) total += a.manual;
    showToCall(total);
  }
}

function attendDeadlines(now) {
  for (const [id, a] of followed) {
    if (!a.open || a.warned || !a.deadline || a.notInformed === 0) continue;
    const left = a.deadline - now;
    if (left <= 15 * 60 * 1000 && left > 0) {
      a.warned = true;
      alertNow(id, `Moins de 15 minutes avant l'heure : ${a.notInformed} élu${a.notInformed > 1 ? "s" : ""} non informé${a.notInformed > 1 ? "s" : ""} — ${a.title}`);
    }
  }
}

function alertNow(id, text) {
  if (attentionBox) {
    const p = document.createElement("div");
    p.className = "fr-alert fr-alert--warning fr-alert--sm fr-mb-2w";
    const a = document.createElement("a");
    a.href = "/activations/" + encodeURIComponent(id) + "/appeler";
    a.textContent = text;
    const para = document.createElement("p");
    para.append(a);
    p.append(para);
    attentionBox.prepend(p);
    while (attentionBox.children.length > 3) attentionBox.lastElementChild.remove();
  }
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      new Notification("Tocsin", { body: text, tag: "tocsin-" + id });
    } catch {
      // some browsers only notify from a service worker: the page says it
    }
  }
  if (sound) beep();
}

function beep() {
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.frequency.value = 880;
    g.gain.value = 0.15;
    o.connect(g).connect(ctx.destination);
    o.start();
    o.stop(ctx.currentTime + 0.3);
  } catch {
    // no sound on this browser
  }
}

function showAlertsButton() {
  if (!alertsButton) return;
  const granted = "Notification" in window && Notification.permission === "granted";
  alertsButton.hidden = false;
  alertsButton.textContent = granted ? (sound ? "Alertes : notification et son" : "Alertes : notification") : "Alertes : activer";
  alertsButton.setAttribute("aria-pressed", String(granted));
}

if (alertsButton) {
  alertsButton.addEventListener("click", async () => {
    if ("Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission();
    } else {
      sound = !sound; // permission settled: the button turns the sound on and off
      localStorage.setItem("tocsin-son", sound ? "on" : "off");
    }
    showAlertsButton();
  });
  showAlertsButton();
}

// The filters of the officials' table, and the server's counter that
// counts each: counts come from the server, which sees every official.
const filterCounters = { "": "targeted", "non-informes": "not_informed", echecs: "failed", "a-appeler": "manual" };

function updateCounters(id, counters) {
  if (!counters) return;
  for (const scope of scopes(id)) {
    for (const [key, value] of Object.entries(counters)) {
      for (const el of scope.querySelectorAll(`[data-counter="${key}"]`)) el.textContent = String(value);
    }
    for (const p of scope.querySelectorAll("[data-progress]")) {
      p.max = counters.targeted;
      p.value = counters.informed;
      p.textContent = counters.percent + " %";
    }
  }
  if (live !== id) return;
  for (const [n, sent] of Object.entries(counters.messages || {})) {
    for (const el of document.querySelectorAll(`[data-message-sent="${CSS.escape(n)}"]`)) el.textContent = String(sent);
  }
  showToCall(counters.manual);
  for (const el of document.querySelectorAll("[data-filter-count]")) {
    const value = counters[filterCounters[el.dataset.filterCount]];
    if (value !== undefined) el.textContent = String(value);
  }
}

function updateState(id, state) {
  const known = scopes(id);
  if (known.length === 0) {
    // A new activation: the dashboard shows it after a reload.
    if (live === "tableau" && state === "open") location.reload();
    return;
  }
  for (const scope of known) {
    if (scope.dataset.state && scope.dataset.state !== state) {
      location.reload(); // closed elsewhere: the actions change
      return;
    }
  }
}

const badgeKinds = ["fr-badge--new", "fr-badge--info", "fr-badge--warning", "fr-badge--error", "fr-badge--success"];

function updateRow(r) {
  if (!r) return;
  updateCard(r);
  const tr = document.getElementById("elu-" + r.id);
  if (!tr) {
    // A page of a long list holds its window only: an official who joins
    // the list is announced, with a link to the list as it is now.
    const table = document.getElementById("table-elus");
    if (table && table.dataset.paged === "true" && keepRow(table.dataset.filter || "", r.status, r.manual)) showStale();
    return;
  }
  tr.dataset.status = r.status;
  tr.dataset.manual = String(r.manual);
  tr.dataset.manualAt = r.manual_at || "";
  const badge = tr.querySelector('[data-field="status"]');
  if (badge) {
    badge.textContent = r.status_label;
    badge.classList.remove(...badgeKinds);
    if (r.badge) badge.classList.add(r.badge);
  }
  tr.dataset.claimUntil = r.claim ? r.claim.until : "";
  const claim = tr.querySelector('[data-field="claim"]');
  if (claim) claim.textContent = r.claim ? `Appelé·e par ${r.claim.by} depuis ${r.claim.at}` : "";
  const last = tr.querySelector('[data-field="last"]');
  if (last) last.textContent = r.last || "";
  const all = tr.querySelector(".tc-history-all");
  if (all) {
    const history = r.history || [];
    all.hidden = history.length < 2;
    all.querySelector('[data-field="history-count"]').textContent = String(history.length);
    all.querySelector('[data-field="history"]').replaceChildren(...history.map(listItem));
  }
  const informed = tr.querySelector('[data-field="informed"]');
  if (informed) informed.textContent = r.informed || "";
  if (!r.confirmable) {
    const action = tr.querySelector('[data-field="action"]');
    if (action && action.querySelector("form") && !action.contains(document.activeElement)) action.textContent = "—";
  }
  tr.classList.remove("tc-changed");
  void tr.offsetWidth; // restart the highlight
  tr.classList.add("tc-changed");
  refreshRows();
}

function addEvent(e) {
  const list = document.getElementById("chronologie");
  if (!list || !e) return;
  if (list.querySelector(`[data-seq="${CSS.escape(e.seq)}"]`)) return;
  const li = document.createElement("li");
  li.dataset.seq = e.seq;
  const time = document.createElement("time");
  time.textContent = e.at;
  li.append(time, " " + e.detail);
  // Newest first: before the first entry that sorts before this one.
  for (const other of list.children) {
    if (other.dataset.seq < e.seq) {
      list.insertBefore(li, other);
      return;
    }
  }
  list.append(li);
}

// addReply puts a reply that did not acknowledge at the top of the
// activation page's inbox, as the server renders it.
function addReply(id, e) {
  const box = document.getElementById("boite-reponses");
  if (!box || live !== id || box.querySelector(`[data-seq="${CSS.escape(e.seq)}"]`)) return;
  const li = document.createElement("li");
  li.id = "reponse-" + e.seq;
  li.dataset.seq = e.seq;
  li.dataset.handled = "non";
  li.className = "tc-new";
  const p = document.createElement("p");
  p.className = "fr-mb-1w";
  const badge = document.createElement("span");
  badge.className = "fr-badge fr-badge--sm " + (e.concern === "question" ? "fr-badge--info" : e.concern === "à lire" ? "fr-badge--new" : "fr-badge--warning");
  badge.textContent = e.concern;
  const who = document.createElement("strong");
  who.textContent = e.name;
  p.append(badge, " ", who, `, ${e.at} : « ${e.text} »`);
  li.append(p);
  const csrf = document.querySelector('input[name="csrf"]');
  if (document.getElementById("reponses").dataset.canHandle === "true" && csrf) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = `/activations/${encodeURIComponent(id)}/reponses/${encodeURIComponent(e.seq)}/traitee`;
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf";
    token.value = csrf.value;
    const button = document.createElement("button");
    button.className = "fr-btn fr-btn--sm fr-btn--secondary";
    button.type = "submit";
    button.textContent = "Traitée";
    form.append(token, button);
    li.append(form);
  }
  box.prepend(li);
  const count = document.querySelector("[data-unhandled]");
  if (count) count.textContent = String(Number(count.textContent) + 1);
}

// refreshRows applies the "à appeler" rule's time threshold, which the
// server sends with each row, and the table's filter. The page holds every
// official, those the filter leaves out hidden, so that one who joins the
// filter shows at once; the counts are the server's (updateCounters).
function refreshRows() {
  const table = document.getElementById("table-elus");
  if (!table) return;
  const filter = table.dataset.filter || "";
  const now = Date.now();
  let shown = 0;
  for (const tr of table.tBodies[0].rows) {
    const isManual = onList(tr, now);
    const tag = tr.querySelector('[data-field="manual"]');
    if (tag) tag.hidden = !isManual;
    const claim = tr.querySelector('[data-field="claim"]');
    if (claim) claim.hidden = !(tr.dataset.claimUntil && Date.parse(tr.dataset.claimUntil) > now && tr.dataset.status !== "informed");
    let keep = keepRow(filter, tr.dataset.status, isManual);
    if (keep && query) keep = fold(tr.cells[0].textContent).includes(query);
    tr.hidden = !keep;
    if (keep) shown++;
  }
  for (const el of document.querySelectorAll("[data-search-none]")) el.hidden = !query || shown > 0;
}

// keepRow applies the table's filter, as the server does.
function keepRow(filter, status, manual) {
  if (filter === "non-informes") return status !== "informed";
  if (filter === "echecs") return status === "failed";
  if (filter === "a-appeler") return manual;
  return true;
}

// showStale says that the list of a paged page changed beyond its window.
function showStale() {
  for (const el of document.querySelectorAll("[data-paged-stale]")) el.hidden = false;
}

// fold lowers a text and strips its accents, as the server's search does:
// "evreux" finds "Évreux".
function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

// The officials' search narrows the table as the officer types; the
// filter still applies.
for (const input of document.querySelectorAll("[data-search-officials]")) {
  input.addEventListener("input", () => {
    query = fold(input.value.trim());
    refreshRows();
  });
}

// onList applies the "à appeler" rule to an element that carries a row's
// status and threshold (a table row or a card), and says whether the
// official is on the list.
function onList(el, now) {
  const at = el.dataset.manualAt ? Date.parse(el.dataset.manualAt) : NaN;
  if (el.dataset.status !== "informed" && el.dataset.manualAt && (el.dataset.status === "failed" || now >= at)) {
    el.dataset.manual = "true";
  } else if (el.dataset.status === "informed") {
    el.dataset.manual = "false";
  }
  return el.dataset.manual === "true";
}

function listItem(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

// updateCard applies a row's change to its card in the calling view.
function updateCard(r) {
  const card = document.getElementById("carte-" + r.id);
  if (!card) {
    const list = document.getElementById("cartes");
    if (list && list.dataset.paged === "true" && r.manual && r.status !== "informed") showStale();
    return;
  }
  card.dataset.status = r.status;
  card.dataset.manual = String(r.manual);
  card.dataset.manualAt = r.manual_at || "";
  card.dataset.claimBy = r.claim ? r.claim.by : "";
  card.dataset.claimUntil = r.claim ? r.claim.until : "";
  const claim = card.querySelector('[data-field="claim"]');
  if (claim && r.claim) {
    claim.textContent =
      r.claim.by === me
        ? `Vous appelez depuis ${r.claim.at} (jusqu'à ${r.claim.until_clock})`
        : `Appelé·e par ${r.claim.by} depuis ${r.claim.at} (jusqu'à ${r.claim.until_clock})`;
  }
  const badge = card.querySelector('[data-field="status"]');
  if (badge) {
    badge.textContent = r.status_label;
    badge.classList.remove(...badgeKinds);
    if (r.badge) badge.classList.add(r.badge);
  }
  const history = card.querySelector('[data-field="history"]');
  if (history) {
    const items = (r.history || []).slice(0, 4);
    if (items.length === 0) items.push("aucune");
    history.replaceChildren(...items.map(listItem));
  }
  if (r.status === "informed" && !card.contains(document.activeElement)) card.remove();
  refreshCards();
}

// refreshCards shows the cards of the officials on the list (and of
// those the officer calls), the ones who just joined it at the top,
// highlighted, and each card's actions as
// its claim allows: « J'appelle » while nobody calls, the holder's own
// actions to the holder.
function refreshCards() {
  const list = document.getElementById("cartes");
  if (!list) return;
  const now = Date.now();
  const newcomers = [];
  let shown = 0;
  for (const card of list.children) {
    const held = card.dataset.claimBy !== "" && card.dataset.claimBy !== undefined && Date.parse(card.dataset.claimUntil) > now;
    const claim = card.querySelector('[data-field="claim"]');
    if (claim) claim.hidden = !held;
    const free = card.querySelector('[data-when="free"]');
    if (free) free.hidden = held;
    const mine = card.querySelector('[data-when="mine"]');
    if (mine) mine.hidden = !(held && card.dataset.claimBy === me);
    if (onList(card, now) || (held && card.dataset.claimBy === me)) {
      shown++;
      if (card.hidden) newcomers.push(card);
    } else {
      card.hidden = true;
    }
  }
  for (const card of newcomers) {
    card.hidden = false;
    card.classList.remove("tc-new");
    void card.offsetWidth; // restart the highlight
    card.classList.add("tc-new");
  }
  if (newcomers.length > 0) list.prepend(...newcomers);
  for (const el of document.querySelectorAll("[data-empty-calls]")) el.hidden = shown > 0;
}

document.addEventListener("animationend", (e) => {
  if (e.target.classList && e.target.classList.contains("tc-new")) e.target.classList.remove("tc-new");
});

for (const el of document.querySelectorAll("[data-print]")) {
  el.addEventListener("click", (e) => {
    e.preventDefault();
    window.print();
  });
}

function clock(ms) {
  if (ms <= 0) return "délai dépassé";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h} h ${pad(m)} min ${pad(sec)} s` : `${m} min ${pad(sec)} s`;
}

function tick() {
  const now = Date.now();
  attendDeadlines(now);
  for (const el of document.querySelectorAll("[data-countdown]")) {
    const left = Date.parse(el.dataset.countdown) - now;
    el.textContent = clock(left);
    el.classList.toggle("tc-overdue", left <= 0);
  }
  refreshRows();
  refreshCards();
}

if (live || alertsOnly) {
  if (live) setLiveStatus("connexion…");
  connect();
  const manual = document.querySelector(`[data-activation="${CSS.escape(live)}"] [data-counter="manual"]`);
  if (manual) showToCall(Number(manual.textContent));
}
tick();
setInterval(tick, 1000);
