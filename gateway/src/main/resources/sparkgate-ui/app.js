// Sparkgate's web UI: plain JavaScript against the gateway's own REST API and push stream.
// Routes (in the URL's hash): #/ lists sessions and batches; #/sessions/{id} is a session's console.
// A session page follows GET /sessions/{id}/events (Server-Sent Events: session, statement, output,
// log) and falls back to polling the REST API when the stream is not available.
'use strict';

const FINAL = new Set(['available', 'error', 'cancelled']);
const RANK = { waiting: 0, running: 1, cancelling: 2, available: 3, error: 3, cancelled: 3 };
const SESSION_ENDED = new Set(['error', 'dead', 'killed', 'success']);
const POLL_MS = 1000;

let page = null; // the current page's stop function

const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function api(method, path, body) {
  const init = { method, headers: { 'Accept': 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
  if (!r.ok) {
    const err = new Error((json && json.msg) || `${method} ${path}: ${r.status}`);
    err.status = r.status;
    throw err;
  }
  return json;
}

function toast(message) {
  const t = $('#toast');
  t.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ''; }, 5000);
}

function stateBadge(state) {
  return el('span', { class: 'state state-' + state }, state);
}

function mount(templateId) {
  const main = $('#main');
  main.replaceChildren($('#' + templateId).content.cloneNode(true));
  return main;
}

// --- Home: sessions and batches ---------------------------------------------------------------

function homePage() {
  mount('tpl-home');
  let timer = null;
  let stopped = false;

  $('#create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const body = {};
    if (form.kind.value) body.kind = form.kind.value;
    if (form.name.value.trim()) body.name = form.name.value.trim();
    const button = $('button[type=submit]', form);
    button.disabled = true;
    try {
      const s = await api('POST', '/sessions', body);
      location.hash = '#/sessions/' + s.id;
    } catch (e) {
      toast(e.message);
    } finally {
      button.disabled = false;
    }
  });

  async function refresh() {
    try {
      const r = await api('GET', '/sessions?size=1000');
      const rows = r.sessions.map((s) => el('tr', {},
        el('td', {}, el('a', { href: '#/sessions/' + s.id }, String(s.id))),
        el('td', {}, s.name || ''),
        el('td', {}, s.kind || 'shared'),
        el('td', {}, stateBadge(s.state)),
        el('td', {}, s.appId || ''),
        el('td', {}, el('button', {
          type: 'button', class: 'danger', 'aria-label': 'Delete session ' + s.id,
          onclick: () => deleteSession(s.id).then(refresh),
        }, 'Delete'))));
      $('#sessions').replaceChildren(...(rows.length ? rows
        : [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No sessions yet.'))]));
    } catch (e) {
      $('#sessions').replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, e.message)));
    }
    try {
      const r = await api('GET', '/batches?size=1000');
      const rows = (r.sessions || []).map((b) => el('tr', {},
        el('td', {}, String(b.id)), el('td', {}, b.name || ''), el('td', {}, stateBadge(b.state)),
        el('td', {}, b.appId || '')));
      $('#batches').replaceChildren(...(rows.length ? rows
        : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No batches.'))]));
    } catch (e) {
      $('#batches').replaceChildren(el('tr', {}, el('td', { colspan: 4, class: 'muted' },
        e.status === 404 ? 'This gateway does not run batches.' : e.message)));
    }
    if (!stopped) timer = setTimeout(refresh, 3000);
  }
  refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

async function deleteSession(id) {
  if (!confirm('Delete session ' + id + '? Its driver stops.')) return false;
  try {
    await api('DELETE', '/sessions/' + id);
    toast('Session ' + id + ' deleted');
    return true;
  } catch (e) {
    toast(e.message);
    return false;
  }
}

// --- Outputs ----------------------------------------------------------------------------------

/** Renders a statement's final output: text, %table's table, %json's JSON, %matplot's image/png, errors. */
function renderOutput(output) {
  if (!output) return [];
  if (output.status === 'error') {
    return [el('pre', { class: 'out err' }, `${output.ename}: ${output.evalue}\n${(output.traceback || []).join('')}`)];
  }
  const data = output.data || {};
  const parts = [];
  // %table: Livy's table type (headers and rows), also accepted under application/json.
  const table = data['application/vnd.livy.table.v1+json'] || data['application/json'];
  if (table && Array.isArray(table.headers) && Array.isArray(table.data)) {
    parts.push(el('table', { class: 'out-table' },
      el('thead', {}, el('tr', {}, table.headers.map((h) => el('th', { scope: 'col' }, h.name)))),
      el('tbody', {}, table.data.map((row) => el('tr', {}, row.map((v) => el('td', {},
        v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v))))))));
  } else if (table !== undefined) {
    parts.push(el('pre', { class: 'out' }, JSON.stringify(table, null, 2)));
  }
  if (data['image/png']) {
    parts.push(el('div', { class: 'out' }, el('img', { src: 'data:image/png;base64,' + data['image/png'], alt: 'Plot output' })));
  }
  if (!parts.length && data['text/plain'] !== undefined) {
    parts.push(el('pre', { class: 'out' }, data['text/plain']));
  }
  return parts;
}

// --- Session page -----------------------------------------------------------------------------

function sessionPage(id) {
  mount('tpl-session');
  $('#s-title').textContent = 'Session ' + id;
  let stopped = false;
  let stream = null;
  let pollTimer = null;
  let session = null;
  const cards = new Map(); // statement id -> {li, st, live: [{stream, text}]}
  const list = $('#statements');
  const logBox = $('#log');

  function showSession(s) {
    session = s;
    $('#s-title').textContent = 'Session ' + s.id + (s.name ? ' · ' + s.name : '') + ' (' + (s.kind || 'shared') + ')';
    $('#s-state').replaceChildren(stateBadge(s.state));
    $('#s-app').textContent = s.appId ? 'application ' + s.appId : '';
    const ended = SESSION_ENDED.has(s.state);
    $('#console button[type=submit]').disabled = ended;
    $('#code').disabled = ended;
  }

  function card(st) {
    let c = cards.get(st.id);
    if (!c) {
      const li = el('li', { class: 'statement', id: 'statement-' + st.id, 'aria-live': 'polite' });
      c = { li, st, live: [] };
      cards.set(st.id, c);
      // Newest first.
      let before = null;
      for (const child of list.children) {
        if (Number(child.id.slice('statement-'.length)) < st.id) { before = child; break; }
      }
      list.insertBefore(li, before);
    }
    return c;
  }

  function draw(c) {
    const st = c.st;
    const running = !FINAL.has(st.state);
    const head = el('header', {},
      el('strong', {}, '#' + st.id), stateBadge(st.state),
      el('progress', { max: 1, value: st.progress || 0, 'aria-label': 'Progress of statement ' + st.id },
        Math.round((st.progress || 0) * 100) + '%'),
      running && st.state !== 'cancelling' ? el('button', {
        type: 'button', class: 'secondary', 'aria-label': 'Cancel statement ' + st.id,
        onclick: () => api('POST', `/sessions/${id}/statements/${st.id}/cancel`).catch((e) => toast(e.message)),
      }, 'Cancel') : null);
    const body = [el('pre', { class: 'code' }, st.code)];
    if (running || !st.output) {
      if (c.live.length) {
        body.push(el('pre', { class: 'out live' }, c.live.map((p) => el('span', { class: p.stream }, p.text))));
      }
    }
    body.push(...renderOutput(st.output));
    c.li.replaceChildren(head, ...body);
  }

  function onStatement(st) {
    const c = card(st);
    // A statement only moves forward; an older view (the POST's answer arriving after the stream
    // already said running) must not take it back.
    if (RANK[st.state] < RANK[c.st.state]) return;
    c.st = st;
    if (FINAL.has(st.state) && st.output) c.live = [];
    draw(c);
  }

  function onOutput(o) {
    const c = cards.get(o.statement);
    if (!c) return;
    const last = c.live[c.live.length - 1];
    if (last && last.stream === o.stream) last.text += o.text; else c.live.push({ stream: o.stream, text: o.text });
    if (!FINAL.has(c.st.state)) draw(c);
  }

  function appendLog(lines) {
    const atEnd = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
    logBox.textContent += lines.map((l) => l + '\n').join('');
    // Bounded: keep the last 2,000 lines.
    const all = logBox.textContent.split('\n');
    if (all.length > 2001) logBox.textContent = all.slice(all.length - 2001).join('\n');
    if (atEnd) logBox.scrollTop = logBox.scrollHeight;
  }

  async function loadAll() {
    const [s, sts, log] = await Promise.all([
      api('GET', '/sessions/' + id),
      api('GET', `/sessions/${id}/statements`),
      api('GET', `/sessions/${id}/log?size=1000`),
    ]);
    showSession(s);
    for (const st of sts.statements) onStatement(st);
    logBox.textContent = '';
    appendLog(log.log || []);
    return s;
  }

  // Push: the session's SSE stream. Polling when it cannot be opened.
  function follow() {
    if (typeof EventSource === 'undefined') { poll(); return; }
    let opened = false;
    stream = new EventSource(`/sessions/${id}/events`);
    stream.onopen = () => { opened = true; $('#s-live').textContent = 'live'; };
    // A safety net under the stream: while a statement is unfinished, re-read it over REST now and
    // then (cheap, and a state can never go back: see onStatement), so a stalled stream shows late,
    // not never.
    const check = async () => {
      if (stopped) return;
      const open = [...cards.values()].filter((c) => !FINAL.has(c.st.state));
      for (const c of open) {
        try { onStatement(await api('GET', `/sessions/${id}/statements/${c.st.id}`)); } catch (e) { /* gone */ }
      }
      pollTimer = setTimeout(check, 3000);
    };
    pollTimer = setTimeout(check, 3000);
    const on = (type, fn) => stream.addEventListener(type, (ev) => {
      try { fn(JSON.parse(ev.data)); } catch (e) { console.warn('bad event', type, e); }
    });
    on('session', showSession);
    on('statement', onStatement);
    on('output', onOutput);
    on('log', (d) => appendLog(d.lines || []));
    // Told that events were dropped (too old, or this page read too slowly): re-read REST; the
    // EventSource reconnects by itself with Last-Event-ID where that applies.
    const reload = () => loadAll().catch((e) => toast(e.message));
    stream.addEventListener('reset', reload);
    stream.addEventListener('overflow', reload);
    stream.onerror = () => {
      if (!opened) {
        stream.close();
        stream = null;
        poll();
      } else {
        $('#s-live').textContent = 'reconnecting…';
      }
    };
  }

  async function poll() {
    if (stopped) return;
    $('#s-live').textContent = 'polling';
    try {
      const s = await loadAll();
      if (SESSION_ENDED.has(s.state) && ![...cards.values()].some((c) => !FINAL.has(c.st.state))) {
        $('#s-live').textContent = '';
        return;
      }
    } catch (e) {
      if (e.status === 404) { toast('Session ' + id + ' is gone'); return; }
      toast(e.message);
    }
    pollTimer = setTimeout(poll, POLL_MS);
  }

  // Console.
  const form = $('#console');
  async function submit() {
    const code = form.code.value;
    if (!code.trim()) { toast('Type some code first'); return; }
    const body = { code };
    if (form.kind.value) body.kind = form.kind.value;
    try {
      const st = await api('POST', `/sessions/${id}/statements`, body);
      onStatement(st);
    } catch (e) {
      toast(e.message);
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  $('#code').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(); }
  });
  $('#s-delete').addEventListener('click', async () => {
    if (await deleteSession(id)) location.hash = '#/';
  });

  loadAll().then(() => { if (!stopped) follow(); }).catch((e) => {
    $('#s-state').textContent = e.message;
  });
  $('#code').focus();

  return () => {
    stopped = true;
    clearTimeout(pollTimer);
    if (stream) stream.close();
  };
}

// --- Router -----------------------------------------------------------------------------------

function route() {
  if (page) page();
  const m = location.hash.match(/^#\/sessions\/(\d+)$/);
  page = m ? sessionPage(Number(m[1])) : homePage();
  $('#main').focus({ preventScroll: true });
  if (m) $('#code') && $('#code').focus();
}

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', () => {
  route();
  api('GET', '/version').then((v) => { $('#version').textContent = 'Livy API ' + v.version; }).catch(() => {});
});
