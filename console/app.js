// app.js — the airlock review console: vanilla JavaScript, no framework.
//
// Every piece of book or agent text reaches the page through textContent
// (h() below builds elements from strings as text nodes): a signal, a draft
// or a reason that holds HTML is shown as text and never run. On the way,
// vis() makes control characters and bidirectional overrides visible
// (\e, \x08, \u202e), as the CLI does: a reason cannot reorder or hide
// what the reviewer reads. Every request
// that changes something carries the session's CSRF token.
'use strict';

(function () {
  var me = null; // {name, role, principal, csrf}
  var booting = null; // the first /api/me, while it is under way
  var main = document.getElementById('main');

  // ---- the first answers ---------------------------------------------------

  // The server writes a signed-in reviewer's first answers into the page
  // (/api/me, and the queue on "/" or the batch on "/b/ID"): JSON in
  // <script type="application/json"> blocks, never run; each is taken once
  // as the answer to the same GET and removed from the page. For a view
  // the server cannot see ("/#/batch/ID"), its GET starts here, before
  // anything is drawn. Only GETs the page would make anyway.
  var boot = {};
  Array.prototype.forEach.call(document.querySelectorAll('script.airlock-answer'), function (s) {
    boot[s.getAttribute('data-path')] = { text: s.textContent };
    s.parentNode.removeChild(s);
  });
  // The route of an address: the hash, else the batch of "/b/ID", else the queue.
  function routeOf() {
    if (location.hash) return location.hash;
    var m = /^\/b\/[Bb]?([0-9]+)$/.exec(location.pathname);
    return m ? '#/batch/' + m[1] : '#/queue';
  }
  (function () {
    // a one-time sign-in link signs in first: nothing to fetch yet
    if (new URLSearchParams(location.search).get('link')) return;
    var get = function (p) { if (!boot[p]) boot[p] = fetch(p, { credentials: 'same-origin' }); };
    var m = /^#\/batch\/([^/?]+)$/.exec(routeOf());
    get('/api/me');
    if (m) {
      try { get('/api/batches/' + encodeURIComponent(decodeURIComponent(m[1]))); } catch (e) { /* drawn as an error by the view */ }
    } else if (routeOf() === '#/queue' || location.hash === '#/login') get('/api/queue');
  })();

  // ---- DOM helpers -------------------------------------------------------

  // Text as a person must read it: C0 controls but the line break, DEL, C1
  // controls, bidirectional marks, embeddings, overrides and isolates and
  // line/paragraph separators become visible escapes (src/text.h has the
  // same classes); everything else is unchanged.
  var STEERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
  var STEER = new RegExp(STEERS.source); // one test, no replace, for the usual clean text
  function vis(s) {
    s = String(s);
    if (!STEER.test(s)) return s;
    return s.replace(STEERS, function (c) {
      var n = c.charCodeAt(0);
      if (n === 0x1b) return '\\e';
      if (n === 0x09) return '\\t';
      if (n === 0x0d) return '\\r';
      if (n < 0x80) return '\\x' + (n < 0x10 ? '0' : '') + n.toString(16);
      return '\\u' + ('000' + n.toString(16)).slice(-4);
    });
  }

  // h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child, ...)
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var k, i, c;
    if (attrs) {
      for (k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
        if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), attrs[k]);
        else if (k === 'text') el.textContent = vis(attrs[k]);
        else if (k === 'value') el.value = attrs[k];
        else if (k === 'checked') el.checked = !!attrs[k];
        else if (k === 'title') el.setAttribute(k, vis(attrs[k]));
        else el.setAttribute(k, attrs[k] === true ? '' : String(attrs[k]));
      }
    }
    for (i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    var i;
    if (c == null || c === false) return;
    if (Array.isArray(c)) { for (i = 0; i < c.length; i++) add(el, c[i]); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(vis(c)));
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function show(node) {
    clear(main);
    add(main, node);
    // On a phone a wide table scrolls inside itself; one holding nothing
    // focusable takes the focus itself, so it scrolls by keyboard too.
    Array.prototype.forEach.call(main.querySelectorAll('table'), function (t) {
      if (!t.querySelector('a, button, input, select, textarea')) t.setAttribute('tabindex', '0');
    });
  }
  // Marks a view as drawn: tests wait for it, the bench times it.
  function rendered(view) {
    document.documentElement.setAttribute('data-rendered', view);
    window.__airlockRendered = { view: view, ms: performance.now() };
  }
  function text(v) {
    if (v === null || v === undefined || v === '') return '(empty)';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function flash(msg, bad) {
    var f = document.getElementById('flash');
    f.textContent = vis(msg);
    f.className = bad ? 'flash bad' : 'flash';
    f.hidden = !msg;
  }
  function age(sec) {
    if (sec >= 86400) return Math.floor(sec / 86400) + 'd';
    if (sec >= 3600) return Math.floor(sec / 3600) + 'h';
    if (sec >= 60) return Math.floor(sec / 60) + 'm';
    return Math.max(0, sec) + 's';
  }
  function badge(state) { return h('span', { class: 'badge s-' + String(state), text: state }); }
  function link(hash, label) { return h('a', { href: hash, text: label }); }
  function enc(s) { return encodeURIComponent(String(s)); }
  // A link to an item row of the batch on screen: scrolls, keeps the route.
  function itemLink(n, label) {
    return h('a', { href: location.hash, onclick: function (ev) {
      ev.preventDefault();
      var row = document.getElementById('item-' + n);
      if (row) row.scrollIntoView({ block: 'center' });
    } }, label);
  }
  function table(head, rows, cls) {
    return h('table', { class: cls || '' },
      h('thead', null, h('tr', null, head.map(function (t) { return h('th', { text: t }); }))),
      h('tbody', null, rows));
  }
  function td(content, cls) { return h('td', { class: cls || null }, content); }

  // ---- the API -------------------------------------------------------------

  function api(method, path, body) {
    var opt = { method: method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') {
      opt.headers['Content-Type'] = 'application/json';
      if (me) opt.headers['X-CSRF-Token'] = me.csrf;
      opt.body = JSON.stringify(body || {});
    }
    // an answer in the page, or asked for early, is taken once, for the same GET
    var early = method === 'GET' && boot[path];
    if (early) delete boot[path];
    var got = function (status, t) {
      var data = null;
      try { data = t ? JSON.parse(t) : null; } catch (e) { data = { error: t }; }
      if (status === 401 && path !== '/login' && (me || path === '/api/me')) { me = null; signedOut(); }
      return { status: status, ok: status >= 200 && status < 300, data: data || {} };
    };
    var p = early && typeof early.text === 'string' ? Promise.resolve(got(200, early.text))
      : (early || fetch(path, opt)).then(function (r) { return r.text().then(function (t) { return got(r.status, t); }); });
    // While the page starts, a view's data is fetched alongside /api/me
    // and drawn once both are in: one round trip less before first render.
    return booting && path !== '/api/me' ? Promise.all([p, booting]).then(function (r) { return r[0]; }) : p;
  }
  function failed(res) {
    return (res.data && res.data.error) ? res.data.error : 'HTTP ' + res.status;
  }

  // ---- sign in ---------------------------------------------------------------

  function signedOut() {
    document.getElementById('nav').hidden = true;
    document.getElementById('logout').hidden = true;
    document.getElementById('who').textContent = '';
    viewLogin();
  }
  function signedIn(data) {
    me = data;
    document.getElementById('nav').hidden = false;
    document.getElementById('logout').hidden = false;
    document.getElementById('who').textContent = me.name + ' (' + me.role + ')';
  }
  function viewLogin(err) {
    var name = h('input', { id: 'login-name', name: 'name', autocomplete: 'username', required: true });
    var pw = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    var msg = h('p', { class: 'error', id: 'login-error', text: err || '' });
    var form = h('form', { class: 'login', onsubmit: function (ev) {
      ev.preventDefault();
      api('POST', '/login', { name: name.value, password: pw.value }).then(function (res) {
        if (!res.ok) { msg.textContent = failed(res); return; }
        signedIn(res.data);
        if (location.hash === '#/login' || routeOf() === '#/queue') location.hash = '#/queue';
        else route();
      });
    } },
    h('h1', { text: 'Sign in' }),
    h('label', null, 'Name ', name),
    h('label', null, 'Password ', pw),
    h('button', { type: 'submit', text: 'Sign in' }), msg,
    h('p', { class: 'muted', text: 'A reviewer is added with: airlock reviewer add NAME (a password, or a one-time link).' }));
    show(form);
    rendered('login');
  }
  function logout() {
    api('POST', '/logout').then(function () { me = null; location.hash = '#/login'; signedOut(); });
  }

  // ---- queue -------------------------------------------------------------------

  // Filters and sort live in the page (the queue is small: what waits);
  // similar batches (same agent, workflow and instruction version) are
  // grouped, with a group reject that rejects each batch by its own request.
  var qf = { agent: '', workflow: '', state: '', sort: 'age' };
  function viewQueue(params) {
    if (params && params.get('sort')) qf.sort = params.get('sort');
    api('GET', '/api/queue' + (qf.sort !== 'age' ? '?sort=' + enc(qf.sort) : '')).then(function (res) {
      if (!res.ok && qf.sort !== 'age') qf.sort = 'age';
      if (!res.ok) return showError(res);
      var all = res.data.batches, groups = {};
      var pick = function (key, label, values) {
        var sel = h('select', { id: 'qf-' + key, 'aria-label': label, onchange: function () { qf[key] = sel.value; viewQueue(); } },
          values.map(function (v) { var o = h('option', { value: v[0] }, v[1]); if (v[0] === qf[key]) o.selected = true; return o; }));
        return h('label', null, label + ' ', sel);
      };
      var uniq = function (f) { var seen = {}; all.forEach(function (b) { seen[f(b)] = 1; }); return Object.keys(seen).sort(); };
      var opts = function (vals) { return [['', 'any']].concat(vals.map(function (v) { return [v, v]; })); };
      var list = all.filter(function (b) {
        return (!qf.agent || b.principal === qf.agent) && (!qf.workflow || b.workflow === qf.workflow) && (!qf.state || b.state === qf.state);
      });
      // the server sorted them (?sort=): age, radius, workflow, state, agent
      list.forEach(function (b) {
        var k = b.principal + '\u0000' + b.workflow + '\u0000' + (b.instruction_version || '');
        (groups[k] = groups[k] || []).push(b);
      });
      var rows = list.map(function (b) {
        return h('tr', { 'data-batch': b.id },
          td(link('#/batch/' + enc(b.id), 'batch ' + b.id)),
          td(badge(b.state)), td(b.workflow), td(b.principal),
          td(b.action), td(String(b.radius), 'num'), td(String(b.items), 'num'),
          td(age(b.age_seconds), 'num'), td(b.waits_for), td(b.rationale || ''), td(b.expires_at ? String(b.expires_at).slice(0, 16).replace('T', ' ') : 'never'));
      });
      var similar = Object.keys(groups).filter(function (k) { return groups[k].length > 1; }).map(function (k) {
        var g = groups[k], reason = h('input', { type: 'text', 'aria-label': 'why these batches are rejected', placeholder: 'why (required)' });
        return h('li', { 'data-group': g.map(function (b) { return b.id; }).join(',') },
          g.length + ' similar batches from ' + g[0].principal + ' (' + g[0].workflow + ', instructions ' + (g[0].instruction_version || 'none') + '): ',
          g.map(function (b, i) { return [i ? ', ' : '', link('#/batch/' + enc(b.id), String(b.id))]; }), ' ', reason,
          h('button', { type: 'button', class: 'danger', 'data-group-reject': 'true', onclick: function () {
            if (!reason.value.trim()) { flash('a rejection needs a reason', true); reason.focus(); return; }
            var left = g.length, bad = 0;
            g.forEach(function (b) {
              api('POST', '/api/batches/' + enc(b.id) + '/reject', { reason: reason.value }).then(function (r) {
                if (!r.ok) bad++;
                if (--left === 0) { flash(g.length - bad + ' batch(es) rejected, each recorded separately' + (bad ? '; ' + bad + ' refused' : ''), bad > 0); viewQueue(); }
              });
            });
          } }, 'Reject these ' + g.length));
      });
      show([h('h1', { text: 'Queue' }),
        h('p', { class: 'muted', text: all.length + ' batch(es) wait for a person; ' + list.length + ' shown.' }),
        h('form', { class: 'search', onsubmit: function (e) { e.preventDefault(); } },
          pick('agent', 'Agent', opts(uniq(function (b) { return b.principal; }))),
          pick('workflow', 'Workflow', opts(uniq(function (b) { return b.workflow; }))),
          pick('state', 'State', opts(uniq(function (b) { return b.state; }))),
          pick('sort', 'Sort', [['age', 'oldest first'], ['radius', 'largest radius first'], ['workflow', 'by workflow'], ['state', 'by state'], ['agent', 'by agent']])),
        similar.length ? h('section', { class: 'groups' }, h('h2', { text: 'Similar batches' }), h('ul', null, similar)) : null,
        rows.length ? table(['Batch', 'State', 'Workflow', 'Agent', 'Action', 'Radius', 'Items', 'Age', 'Waits for', 'Rationale', 'Expires'], rows, 'queue')
          : h('p', { class: 'empty', text: 'Nothing waits for a person.' })]);
      rendered('queue');
    });
  }

  // ---- batch -------------------------------------------------------------------

  function verbButton(id, verb, label, extra) {
    return h('button', { type: 'button', 'data-verb': verb, onclick: function () {
      var body = extra ? extra() : {};
      if (body === null) return;
      act(id, verb, body);
    } }, label);
  }
  function act(id, verb, body) {
    flash(verb + '…');
    api('POST', '/api/batches/' + enc(id) + '/' + verb, body).then(function (res) {
      if (!res.ok) {
        var msg = failed(res);
        if (res.data && res.data.report && res.data.report.conflicts) msg += ' (' + res.data.report.conflicts.length + ' conflicting item(s))';
        flash(verb + ' refused: ' + msg, true);
        return;
      }
      var what = { sample: 'sample drawn', judge: 'verdict recorded', approve: 'approved', reject: 'rejected', apply: 'applied', undo: 'undone' }[verb];
      flash('batch ' + id + ': ' + what + ' (now ' + res.data.state + ')' + (res.data.seeded_check ? ': ' + res.data.seeded_check.note : ''));
      viewBatch(id);
    });
  }
  function verbsPanel(b) {
    var allowed = (b.verbs && b.verbs.allowed) || [];
    var id = b.id, items = [];
    var reason = h('textarea', { id: 'reject-reason', rows: 2, placeholder: 'why this batch is rejected (required)' });
    var skip = h('input', { type: 'checkbox', id: 'skip-conflicts' });
    var force = h('input', { type: 'checkbox', id: 'undo-force' });
    var override = b.verbs && b.verbs.approve_is_override;
    var overrideReason = h('textarea', { id: 'override-reason', rows: 2, placeholder: 'why you approve without a finished sample (required)' });
    allowed.forEach(function (v) {
      if (v === 'sample') items.push(verbButton(id, 'sample', 'Draw the sample audit'));
      if (v === 'approve' && !override) items.push(verbButton(id, 'approve', 'Approve'));
      if (v === 'approve' && override) {
        // approving past the sample is a distinct act: said so, with a reason
        items.push(h('div', { class: 'override' },
          h('p', { class: 'bad', text: override + '. Approving now is an override: it is recorded and logged as one, and counts as no audit.' }),
          overrideReason,
          h('button', { type: 'button', 'data-verb': 'approve', 'data-override': 'true', class: 'danger', onclick: function () {
            if (!overrideReason.value.trim()) { flash('an override needs a reason', true); overrideReason.focus(); return; }
            act(id, 'approve', { override: true, reason: overrideReason.value });
          } }, 'Approve past the sample (override)')));
      }
      if (v === 'apply') items.push(h('span', null, verbButton(id, 'apply', 'Apply', function () { return { skip_conflicts: skip.checked }; }),
        h('label', { class: 'inline' }, skip, ' skip conflicting items')));
      if (v === 'undo') items.push(h('span', null, verbButton(id, 'undo', 'Undo', function () { return { force: force.checked }; }),
        h('label', { class: 'inline' }, force, ' even over later changes')));
    });
    if (allowed.indexOf('reject') >= 0) {
      items.push(h('div', { class: 'reject' }, reason, verbButton(id, 'reject', 'Reject', function () {
        if (!reason.value.trim()) { flash('a rejection needs a reason', true); reason.focus(); return null; }
        return { reason: reason.value };
      })));
    }
    var notes = ((b.verbs && b.verbs.notes) || []).map(function (n) { return h('p', { class: 'note', text: n }); });
    if (!items.length && !notes.length) notes.push(h('p', { class: 'muted', text: 'Nothing to do: the batch is ' + b.state + '.' }));
    return h('section', { class: 'verbs' }, h('h2', { text: 'Verbs' }), items, notes);
  }
  function samplePanel(b) {
    if (!b.sample) return null;
    var s = b.sample, byIdx = {};
    b.item_list.forEach(function (it) { byIdx[it.idx] = it; });
    var judging = b.verbs && b.verbs.allowed.indexOf('judge') >= 0;
    var rows = (s.items || []).map(function (n) {
      var it = byIdx[n] || {};
      var verdict = it.verdict ? h('span', { class: 'verdict v-' + it.verdict, text: it.verdict + ' by ' + it.verdict_by }) : h('span', { class: 'muted', text: 'not judged' });
      var buttons = judging && !it.verdict ? [
        h('button', { type: 'button', 'data-judge': n, 'data-verdict': 'pass', onclick: function () { act(b.id, 'judge', { item: n, verdict: 'pass' }); } }, 'Pass'),
        h('button', { type: 'button', 'data-judge': n, 'data-verdict': 'fail', class: 'danger', onclick: function () {
          var note = window.prompt('What is wrong with item ' + n + '? (optional)') || null;
          act(b.id, 'judge', { item: n, verdict: 'fail', note: note });
        } }, 'Fail')] : null;
      return h('tr', { 'data-sample-item': n },
        td(itemLink(n, 'item ' + n)), td(it.record_id || ''), td(verdict), td(buttons));
    });
    return h('section', { class: 'sample' }, h('h2', { text: 'Sample audit' }),
      h('p', { class: 'statement', text: s.statement }),
      h('p', { class: 'muted', text: s.n + ' of ' + s.N + ' drawn at ' + s.level + ' inspection (confidence ' + s.confidence + ', tolerated defect rate ' + s.defect_rate + '); seed ' + s.seed }),
      table(['Drawn', 'Record', 'Verdict', ''], rows, 'sample-items'));
  }
  // The batch summary airlock computed (the same lines show and the
  // notifications give): what moves, evidence, and what is flagged.
  function summaryPanel(b) {
    var sm = b.summary;
    if (!sm || !sm.lines) return null;
    return h('section', { class: 'summary', 'aria-label': 'Summary' }, h('h2', { text: 'Summary' }),
      h('ul', null, sm.lines.map(function (l, i) { return h('li', { class: i ? 'flag' : 'what', text: l }); })));
  }
  // Judging one drawn item at a time, whole, by keyboard: j/k or arrows
  // move, p passes, f fails with a note, o opens the record. Every verdict
  // is still its own request for its own item: there is no "pass all".
  var judgeAt = { batch: null, item: null };
  function judgeCard(b) {
    if (!b.sample || !(b.verbs && b.verbs.allowed.indexOf('judge') >= 0)) return null;
    var drawnIdx = b.sample.items || [], byIdx = {};
    b.item_list.forEach(function (it) { byIdx[it.idx] = it; });
    var judged = drawnIdx.filter(function (n) { return byIdx[n] && byIdx[n].verdict; }).length;
    var cur = judgeAt.batch === b.id ? drawnIdx.indexOf(judgeAt.item) : -1;
    if (cur < 0 || (byIdx[drawnIdx[cur]] || {}).verdict) {
      // the next item without a verdict, after the current one
      var start = cur < 0 ? 0 : cur, k;
      cur = -1;
      for (k = 0; k < drawnIdx.length; k++) {
        var n = drawnIdx[(start + k) % drawnIdx.length];
        if (byIdx[n] && !byIdx[n].verdict) { cur = (start + k) % drawnIdx.length; break; }
      }
      if (cur < 0) cur = 0;
    }
    judgeAt = { batch: b.id, item: drawnIdx[cur] };
    var it = byIdx[drawnIdx[cur]] || { diff: [] }, before = it.before || {};
    var note = h('textarea', { id: 'fail-note', rows: 2, 'aria-label': 'What is wrong with this item', placeholder: 'what is wrong (Enter records the fail, Esc cancels)', hidden: true });
    note.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); act(b.id, 'judge', { item: it.idx, verdict: 'fail', note: note.value || null }); }
      if (e.key === 'Escape') { note.hidden = true; document.getElementById('judge-card').focus(); }
    });
    return h('section', { id: 'judge-card', class: 'judge-card', tabindex: '0', 'data-judge-item': it.idx, 'aria-label': 'Judge drawn items' },
      h('h2', { text: 'Judge the sample' }),
      h('p', { class: 'progress', 'aria-live': 'polite', text: judged + ' of ' + drawnIdx.length + ' judged · item ' + (cur + 1) + ' of ' + drawnIdx.length + ' drawn (#' + it.idx + ')' }),
      h('div', { class: 'rec', text: recordKind(b) + ' ' + (it.record_id || '') + (before.name ? ' · ' + before.name : '') }),
      (it.diff || []).map(diffLine), it.conflict ? crmBlock(it) : null,
      (it.reasons || []).map(function (r) { return h('div', { class: 'reason', text: 'reason: ' + r }); }),
      evidenceList(it.evidence) || h('p', { class: 'muted', text: 'no evidence cited' }),
      it.verdict ? h('p', { class: 'verdict v-' + it.verdict, text: it.verdict + ' by ' + it.verdict_by }) : null,
      h('p', { class: 'keys muted', text: 'keys: p pass · f fail with a note · j/→ next · k/← previous · o open the record' }),
      note);
  }
  function judgeKey(e) {
    var card = document.getElementById('judge-card');
    if (!card || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target && e.target.tagName;
    if (t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT') return;
    var b = card.__batch, drawnIdx = (b && b.sample && b.sample.items) || [];
    var cur = drawnIdx.indexOf(Number(card.getAttribute('data-judge-item')));
    var move = function (d) {
      judgeAt.item = drawnIdx[(cur + d + drawnIdx.length) % drawnIdx.length];
      var fresh = judgeCard(b);
      fresh.__batch = b;
      card.replaceWith(fresh);
      fresh.focus();
    };
    if (e.key === 'j' || e.key === 'ArrowRight' || e.key === 'ArrowDown') { e.preventDefault(); move(1); }
    else if (e.key === 'k' || e.key === 'ArrowLeft' || e.key === 'ArrowUp') { e.preventDefault(); move(-1); }
    else if (e.key === 'p') { e.preventDefault(); act(b.id, 'judge', { item: drawnIdx[cur], verdict: 'pass' }); }
    else if (e.key === 'f') { e.preventDefault(); var n = document.getElementById('fail-note'); n.hidden = false; n.focus(); }
    else if (e.key === 'o') {
      e.preventDefault();
      var row = document.getElementById('item-' + drawnIdx[cur]);
      if (row) { row.scrollIntoView(); row.setAttribute('tabindex', '-1'); row.focus(); }
    }
  }
  document.addEventListener('keydown', judgeKey);
  // mk('div', 'cls', 'text'): h() for the hot paths (a big batch's rows),
  // without the attribute loop; text still only through vis() and
  // textContent. mkin(parent, ...) appends it too.
  function mk(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (txt != null) e.textContent = vis(txt);
    return e;
  }
  function mkin(parent, tag, cls, txt) { return parent.appendChild(mk(tag, cls, txt)); }
  function evidenceList(ev) {
    if (!ev || !ev.length) return null;
    var ul = mk('ul', 'evidence'), i, e, li;
    for (i = 0; i < ev.length; i++) {
      e = ev[i];
      if (!e.known) { mkin(ul, 'li', 'unknown', 'evidence ' + text(e.id) + ' (not a known signal)'); continue; }
      li = mkin(ul, 'li');
      mkin(li, 'span', 'sig', e.id + ' · ' + e.kind + ' · ' + String(e.observed_at || '').slice(0, 10));
      li.appendChild(document.createTextNode(' '));
      mkin(li, 'q', 'detail', e.detail || '');
    }
    return ul;
  }
  function draftBlock(d) {
    if (!d) return null;
    return h('div', { class: 'draft' },
      h('p', null, h('b', { text: 'Subject: ' }), d.subject),
      h('p', null, h('b', { text: 'To: ' }), (d.recipients || []).map(function (r) { return r.address; }).join(', ')),
      findings(d.findings),
      h('pre', { class: 'body', text: d.body || '' }));
  }
  function findings(f) {
    if (!f || !f.length) return h('p', { class: 'ok', text: 'audience guard: no findings' });
    return h('ul', { class: 'findings' }, f.map(function (x) { return h('li', { text: x.rule + ': ' + x.message }); }));
  }
  // old → new, and when a CRM refresh moved the field since staging, the
  // CRM's value beside it: the reviewer sees which of the three wins.
  function diffLine(d) {
    var div = mk('div', 'diff');
    mkin(div, 'span', 'field', d.field + ': ');
    mkin(div, 'del', null, text(d.old));
    div.appendChild(document.createTextNode(' → '));
    mkin(div, 'ins', null, text(d.new));
    if (d.crm !== undefined) mkin(div, 'span', 'crm bad', ' · CRM now: ' + text(d.crm)).setAttribute('data-crm-field', d.field);
    return div;
  }
  // What the CRM changed on the record (import --refresh), every field.
  function crmBlock(it) {
    if (!it.crm || !it.crm.values) return null;
    var keys = Object.keys(it.crm.values).sort();
    return h('div', { class: 'crm-refresh bad', 'data-crm': it.record_id },
      'changed in the CRM (import --refresh at ' + String(it.crm.at || '').slice(0, 16).replace('T', ' ') + '): ',
      keys.map(function (k, i) { return (i ? ', ' : '') + k + ' = ' + text(it.crm.values[k]); }));
  }
  // what a batch's records are: an upstream batch's by the tool that writes
  // them (record_kind, e.g. crm__update_tier), the book's accounts otherwise
  function recordKind(b) { return b.record_kind || 'account'; }
  function itemRow(b, it) {
    var diff = it.diff.map(diffLine);
    var before = it.before || {};
    var title = b.action === 'send' ? 'draft ' + it.record_id : recordKind(b) + ' ' + it.record_id + (before.name ? ' · ' + before.name : '') +
      (before.segment ? ' (' + before.segment + (before.region ? ', ' + before.region : '') + ')' : '');
    var isDrawn = b.sample && (b.sample.items || []).indexOf(it.idx) >= 0;
    var tr = mk('tr', it.conflict ? 'conflict' : null), c, i, reasons = it.reasons || [];
    tr.id = 'item-' + it.idx;
    tr.setAttribute('data-item', it.idx);
    c = mkin(tr, 'td', 'num', String(it.idx));
    if (isDrawn) mkin(c, 'div', 'drawn', 'drawn');
    c = mkin(tr, 'td');
    mkin(c, 'div', 'rec', title);
    if (it.conflict) {
      mkin(c, 'div', 'bad', 'changed since staged (version ' + it.version + ' → ' + it.current_version + '): applying will conflict');
      add(c, crmBlock(it));
    }
    add(c, b.action === 'send' ? [mk('div', 'diff', 'sends ' + ((it.diff[0] && it.diff[0].new) || 0) + ' message(s)'), draftBlock(it.draft)] : diff);
    c = mkin(tr, 'td');
    for (i = 0; i < reasons.length; i++) mkin(c, 'div', 'reason', reasons[i]);
    add(c, evidenceList(it.evidence));
    c = mkin(tr, 'td');
    if (it.state && it.state !== 'pending') c.appendChild(badge(it.state));
    if (it.verdict) mkin(c, 'div', 'verdict v-' + it.verdict, it.verdict);
    c.appendChild(link('#/why/' + enc(b.id) + '/' + enc(it.idx), 'why'));
    return tr;
  }
  function viewBatch(id) {
    api('GET', '/api/batches/' + enc(id)).then(function (res) {
      if (!res.ok) return showError(res);
      var b = res.data;
      var conflicts = b.item_list.filter(function (it) { return it.conflict; });
      var refused = b.refused || [];
      // Every row is built here, with the rest of the page, in one go: the
      // stylesheet keeps a big batch cheap to lay out (the item cells off
      // screen are skipped until scrolled to), so the first paint need not
      // wait for a split, and no second frame is spent drawing the rest.
      var list = b.item_list, tbody = mk('tbody'), n;
      for (n = 0; n < list.length; n++) tbody.appendChild(itemRow(b, list[n]));
      var card = judgeCard(b);
      if (card) card.__batch = b;
      show([
        h('h1', null, 'Batch ' + b.id + ' ', badge(b.state)),
        summaryPanel(b),
        card,
        h('dl', { class: 'facts' },
          h('dt', { text: 'workflow' }), h('dd', { text: b.workflow }),
          h('dt', { text: 'proposed by' }), h('dd', { text: b.principal + ' via ' + b.surface + ' (' + b.tool + ')' }),
          h('dt', { text: 'action' }), h('dd', { text: b.action }),
          h('dt', { text: 'instruction version' }), h('dd', { text: b.instruction_version || '(none)' }),
          h('dt', { text: 'scope' }), h('dd', { text: b.scope || '(none)' }),
          h('dt', { text: 'rationale' }), h('dd', { text: b.rationale || '(none)' }),
          h('dt', { text: 'radius' }), h('dd', { text: b.radius + (b.action === 'send' ? ' message(s) · ' : ' record(s) · ') + b.items + ' item(s)' }),
          h('dt', { text: 'created' }), h('dd', { text: b.created_at + ' (' + age(b.age_seconds) + ' ago) · expires ' + (b.expires_at || 'never') }),
          b.decided_by ? [h('dt', { text: 'decided by' }), h('dd', { text: b.decided_by + ' at ' + b.decided_at })] : null,
          b.reject_reason ? [h('dt', { text: 'rejected because' }), h('dd', { text: b.reject_reason })] : null,
          b.override ? [h('dt', { class: 'bad', text: 'OVERRIDE' }), h('dd', { class: 'bad', 'data-override': 'true', text: 'approved past the sample audit (' + (b.override.skipped || '') + '); reason: ' + (b.override.reason || '') })] : null,
          b.applied_by ? [h('dt', { text: 'applied by' }), h('dd', { text: b.applied_by + ' at ' + b.applied_at })] : null,
          b.undone_by ? [h('dt', { text: 'undone by' }), h('dd', { text: b.undone_by + ' at ' + b.undone_at })] : null),
        (b.reasons || []).length ? h('ul', { class: 'why' }, b.reasons.map(function (r) { return h('li', { text: r }); })) : null,
        verbsPanel(b),
        samplePanel(b),
        conflicts.length ? h('section', { class: 'conflicts' }, h('h2', { text: 'Conflicts (' + conflicts.length + ')' }),
          h('p', { text: 'These records changed after the batch was staged: apply refuses them unless you skip them.' }),
          h('ul', null, conflicts.map(function (it) {
            return h('li', null, itemLink(it.idx, 'item ' + it.idx), ' ' + recordKind(b) + ' ' + it.record_id + ' ',
              it.diff.map(function (d) { return d.field + ': ' + text(d.old) + ' → ' + text(d.new) + (d.crm !== undefined ? ' (CRM now ' + text(d.crm) + ')' : '') + ' '; }),
              crmBlock(it));
          }))) : null,
        b.seeded_check ? h('section', { class: 'seeded', 'data-seeded': b.seeded_check.slot }, h('h2', { text: 'Seeded check (item ' + b.seeded_check.slot + ')' }),
          h('p', { text: b.seeded_check.note })) : null,
        refused.length ? h('section', { class: 'refused' }, h('h2', { text: 'Refused: not part of the batch (' + refused.length + ')' }),
          table(['Item', 'Record', 'Field', 'Rule', 'Why'], refused.map(function (r) {
            return h('tr', null, td(String(r.item)), td(r.record_id || ''), td(r.field || ''), td(r.rule), td(r.reason));
          }), 'refused-items')) : null,
        h('h2', { text: 'Items (' + b.item_list.length + ')' }),
        h('table', { class: 'items' }, h('thead', null, h('tr', null, ['#', 'Change', 'Reason and evidence', ''].map(function (t) { return h('th', { text: t }); }))),
          tbody)]);
      if (card) card.focus();
      rendered('batch');
    });
  }

  // ---- why -----------------------------------------------------------------

  function entriesTable(entries) {
    return table(['Seq', 'At', 'Principal', 'Surface', 'Tool', 'Decision', 'Batch', 'Summary'], entries.map(function (e) {
      return h('tr', null, td(String(e.seq), 'num'), td(String(e.at || '').slice(0, 19)), td(e.principal), td(e.surface), td(e.tool),
        td(e.decision || ''), td(e.batch_id ? link('#/batch/' + enc(e.batch_id), e.batch_id) : ''), td(e.summary || ''));
    }), 'log');
  }
  function viewWhy(batch, item) {
    api('GET', '/api/log/why?batch=' + enc(batch) + (item ? '&item=' + enc(item) : '')).then(function (res) {
      if (!res.ok) return showError(res);
      var d = res.data, it = d.item;
      show([h('h1', null, 'Why: ', link('#/batch/' + enc(batch), 'batch ' + batch), item ? ' item ' + item : ''),
        h('h2', { text: 'The decision' }),
        h('p', { text: d.batch.principal + ' proposed this with instruction version ' + (d.batch.instruction_version || '(none)') + '; airlock decided ' + d.batch.state + '.' }),
        h('ul', null, (d.batch.reasons || []).map(function (r) { return h('li', { text: r }); })),
        it ? [h('h2', { text: 'The item' }),
          h('div', { class: 'rec', text: 'record ' + it.record_id }),
          it.diff.map(function (x) { return h('div', { class: 'diff' }, x.field + ': ', h('del', { text: text(x.old) }), ' → ', h('ins', { text: text(x.new) })); }),
          (it.reasons || []).map(function (r) { return h('p', { class: 'reason', text: 'reason: ' + r }); }),
          evidenceList(it.evidence),
          it.verdict ? h('p', { text: 'sample verdict: ' + it.verdict + ' by ' + it.verdict_by + (it.verdict_note ? ' — ' + it.verdict_note : '') }) : null] : null,
        h('h2', { text: 'What happened, in order' }), entriesTable(d.entries)]);
      rendered('why');
    });
  }

  // ---- drafts and briefs ---------------------------------------------------

  // Filters: status on the server (?status=), the agent and a text match
  // (account name or id, subject, recipient) in the page; kept in the
  // address so a link shares the view.
  var DRAFT_STATUSES = ['draft', 'send_requested', 'approved', 'sent', 'failed', 'blocked', 'discarded', 'unknown'];
  function viewDrafts(params) {
    params = params || new URLSearchParams('');
    var st = params.get('status') || '', by = params.get('by') || '', tq = params.get('q') || '';
    Promise.all([api('GET', '/api/drafts' + (st ? '?status=' + enc(st) : '')), api('GET', '/api/briefs')]).then(function (rs) {
      if (!rs[0].ok) return showError(rs[0]);
      var all = rs[0].data.drafts, briefs = rs[1].ok ? rs[1].data.briefs : [];
      var needle = tq.toLowerCase();
      var drafts = all.filter(function (d) {
        if (by && d.principal !== by) return false;
        if (!needle) return true;
        var hay = [d.account_name, d.account_id, d.subject, d.id].concat((d.recipients || []).map(function (r) { return (r.name || '') + ' ' + r.address; }));
        return hay.join('\n').toLowerCase().indexOf(needle) >= 0;
      });
      var sends = drafts.filter(function (d) { return d.status === 'send_requested'; });
      var agents = {};
      all.forEach(function (d) { agents[d.principal] = 1; });
      function who(d) { return (d.recipients || []).map(function (r) { return r.name ? r.name : r.address; }).join(', '); }
      function draftRow(d) {
        return h('tr', { 'data-draft': d.id }, td(link('#/draft/' + enc(d.id), d.id)), td(badge(d.status)),
          td([h('div', { text: d.account_name || d.account_id }), d.account_name ? h('div', { class: 'muted', text: d.account_id }) : null]),
          td(who(d)), td(d.subject), td(d.principal), td((d.findings || []).length ? (d.findings.length + ' finding(s)') : ''),
          td(d.send_batch ? link('#/batch/' + enc(d.send_batch), 'batch ' + d.send_batch) : ''), td(String(d.created_at || '').slice(0, 16).replace('T', ' ')));
      }
      var head = ['Draft', 'Status', 'Account', 'To', 'Subject', 'By', 'Guard', 'Send batch', 'Created'];
      var fStatus = h('select', { id: 'df-status', name: 'status' }, [['', 'any']].concat(DRAFT_STATUSES.map(function (v) { return [v, v]; })).map(function (v) {
        var o = h('option', { value: v[0] }, v[1]); if (v[0] === st) o.selected = true; return o;
      }));
      var fBy = h('select', { id: 'df-by', name: 'by' }, [['', 'anyone']].concat(Object.keys(agents).sort().map(function (v) { return [v, v]; })).map(function (v) {
        var o = h('option', { value: v[0] }, v[1]); if (v[0] === by) o.selected = true; return o;
      }));
      var fQ = h('input', { id: 'df-q', name: 'q', type: 'search', value: tq, placeholder: 'account, subject, recipient' });
      var form = h('form', { class: 'search', role: 'search', 'aria-label': 'Filter drafts', onsubmit: function (ev) {
        ev.preventDefault();
        var qs = [['status', fStatus.value], ['by', fBy.value], ['q', fQ.value.trim()]].filter(function (x) { return x[1]; })
          .map(function (x) { return x[0] + '=' + enc(x[1]); }).join('&');
        location.hash = '#/drafts' + (qs ? '?' + qs : '');
      } }, h('label', null, 'Status ', fStatus), h('label', null, 'By ', fBy), h('label', null, 'Text ', fQ), h('button', { type: 'submit', text: 'Filter' }));
      show([h('h1', { text: 'Drafts and briefs' }), form,
        h('h2', { text: 'Sends awaiting approval (' + sends.length + ')' }),
        sends.length ? table(head, sends.map(draftRow), 'sends')
          : h('p', { class: 'empty', text: 'No send waits for approval.' }),
        h('h2', { text: 'Drafts (' + drafts.length + (drafts.length !== all.length ? ' of ' + all.length : '') + ')' }),
        drafts.length ? table(head, drafts.map(draftRow), 'drafts')
          : h('p', { class: 'empty', text: all.length ? 'No draft matches the filters.' : 'No drafts.' }),
        h('h2', { text: 'Research briefs (' + briefs.length + ')' }),
        briefs.length ? table(['Brief', 'Account', 'By', 'Created', 'Start'], briefs.map(function (b) {
          return h('tr', null, td(link('#/brief/' + enc(b.id), b.id)), td(b.account_id), td(b.principal), td(String(b.created_at || '').slice(0, 16)),
            td(String(b.text || '').slice(0, 120)));
        }), 'briefs') : h('p', { class: 'empty', text: 'No briefs.' })]);
      rendered('drafts');
    });
  }
  function viewDraft(id) {
    api('GET', '/api/drafts/' + enc(id)).then(function (res) {
      if (!res.ok) return showError(res);
      var d = res.data, editable = d.status === 'draft' && me.role !== 'viewer';
      var subject = h('input', { id: 'draft-subject', value: d.subject, size: 80, disabled: !editable });
      var body = h('textarea', { id: 'draft-body', rows: 14, cols: 80, disabled: !editable });
      body.value = d.body || '';
      show([h('h1', null, 'Draft ' + d.id + ' ', badge(d.status)),
        h('p', { text: 'account ' + d.account_id + ' · by ' + d.principal + ' · audience ' + d.audience + ' · instruction version ' + (d.instruction_version || '(none)') }),
        h('p', null, h('b', { text: 'To: ' }), (d.recipients || []).map(function (r) { return (r.name ? r.name + ' ' : '') + '<' + r.address + '>'; }).join(', ')),
        h('h2', { text: 'Audience guard' }), findings(d.findings),
        d.send_batch ? h('p', null, 'This send waits for approval in ', link('#/batch/' + enc(d.send_batch), 'batch ' + d.send_batch), '.') : null,
        h('label', { class: 'block' }, 'Subject', subject),
        h('label', { class: 'block' }, 'Body', body),
        editable ? h('div', { class: 'actions' },
          h('button', { type: 'button', id: 'draft-save', onclick: function () {
            api('PATCH', '/api/drafts/' + enc(id), { subject: subject.value, body: body.value }).then(function (r) {
              if (!r.ok) return flash('save refused: ' + failed(r), true);
              flash('draft saved'); viewDraft(id);
            });
          } }, 'Save'),
          h('button', { type: 'button', id: 'draft-discard', class: 'danger', onclick: function () {
            if (!window.confirm('Discard draft ' + id + '?')) return;
            api('DELETE', '/api/drafts/' + enc(id)).then(function (r) {
              if (!r.ok) return flash('discard refused: ' + failed(r), true);
              flash('draft discarded'); viewDraft(id);
            });
          } }, 'Discard')) : null,
        (d.outbox || []).length ? [h('h2', { text: 'Outbox' }), table(['Id', 'To', 'State', 'Attempts', 'Last error'], d.outbox.map(function (o) {
          return h('tr', null, td(String(o.id)), td(o.address), td(badge(o.state)), td(String(o.attempts)), td(o.last_error || ''));
        }))] : null]);
      rendered('draft');
    });
  }
  function viewBrief(id) {
    api('GET', '/api/briefs/' + enc(id)).then(function (res) {
      if (!res.ok) return showError(res);
      var b = res.data;
      show([h('h1', { text: 'Brief ' + b.id }),
        h('p', { text: 'account ' + b.account_id + ' · by ' + b.principal + ' · ' + b.created_at + ' · instruction version ' + (b.instruction_version || '(none)') }),
        h('pre', { class: 'body', text: b.text }),
        h('h2', { text: 'Signals it cites' }), evidenceList(b.signals) || h('p', { class: 'muted', text: 'none' })]);
      rendered('brief');
    });
  }

  // ---- drift -----------------------------------------------------------------

  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    var el = document.createElementNS(SVG, tag), k;
    for (k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) el.setAttribute(k, String(attrs[k]));
    return el;
  }
  function day(at) {
    var m = /^(\d{4})-(\d\d)-(\d\d)/.exec(String(at || ''));
    if (!m) return String(at || '');
    return Number(m[3]) + ' ' + ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(m[2]) - 1];
  }
  // A value in its metric's unit (the server says which).
  function inUnit(unit, v) {
    v = Number(v);
    if (unit === 'share') return Math.round(v * 100) + '%';
    if (unit === 'count') return String(Math.round(v));
    if (unit === 'mix') return (Math.round(v * 10) / 10).toFixed(1);
    return (Math.round(v * 100) / 100).toFixed(2);
  }
  var UNIT_WORDS = { share: 'share of the window, %', count: 'number per window', ratio: 'ratio, 0 to 1', mix: 'variety: values in common use' };
  // A line chart of one metric over its windows: a y axis with its unit and
  // values, an x axis with dates, the usual value as a dashed line. The
  // title is a heading above the chart (wraps, never cut off).
  function chart(m) {
    var pts = m.points || [], W = 520, H = 170, L = 52, R = 12, T = 12, B = 34, i, path = '';
    var vals = pts.map(function (p) { return Number(p.value); });
    var all = vals.concat(m.reference != null ? [Number(m.reference)] : []);
    var lo = Math.min.apply(null, all.concat([0])), hi = Math.max.apply(null, all.concat([m.unit === 'share' || m.unit === 'ratio' ? 1e-9 : 1]));
    // a share axis spans at least 0-10% (all zeros read "0%, 5%, 10%", not "0%, 0%, 0%")
    if (m.unit === 'share' || m.unit === 'ratio') hi = Math.min(1, Math.max(hi * 1.1, 0.1));
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': vis(m.title + ': ' + pts.length + ' windows from ' + day(pts[0].window) + ' to ' + day(pts[pts.length - 1].window) + ', latest ' + inUnit(m.unit, vals[vals.length - 1])) });
    function x(i) { return L + (pts.length < 2 ? 0 : i * (W - L - R) / (pts.length - 1)); }
    function y(v) { return H - B - (v - lo) / (hi - lo || 1) * (H - T - B); }
    function txt(xx, yy, t, cls, anchor) { var e = svg('text', { x: xx, y: yy, class: cls, 'text-anchor': anchor || 'start' }); e.textContent = vis(t); s.appendChild(e); }
    s.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
    s.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
    [lo, (lo + hi) / 2, hi].forEach(function (v) {
      s.appendChild(svg('line', { x1: L - 4, y1: y(v), x2: L, y2: y(v), class: 'axis' }));
      txt(L - 6, y(v) + 4, inUnit(m.unit, v), 'tick', 'end');
    });
    [0, Math.floor((pts.length - 1) / 2), pts.length - 1].filter(function (k, i, a) { return a.indexOf(k) === i; }).forEach(function (k) {
      txt(x(k), H - B + 16, day(pts[k].window), 'tick', k === 0 ? 'start' : k === pts.length - 1 ? 'end' : 'middle');
    });
    txt(L, H - 2, UNIT_WORDS[m.unit] || '', 'tick unit');
    if (m.reference != null) {
      s.appendChild(svg('line', { x1: L, y1: y(m.reference), x2: W - R, y2: y(m.reference), class: 'ref' }));
      txt(W - R, y(m.reference) - 4, 'usual ' + inUnit(m.unit, m.reference), 'tick', 'end');
    }
    for (i = 0; i < pts.length; i++) path += (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(vals[i]).toFixed(1);
    if (path) s.appendChild(svg('path', { d: path, class: 'line' }));
    for (i = 0; i < pts.length; i++) {
      var c = svg('circle', { cx: x(i), cy: y(vals[i]), r: 3, class: pts[i].alert ? 'pt alert' : 'pt' });
      var t = svg('title', {}); t.textContent = vis(day(pts[i].window) + ': ' + inUnit(m.unit, pts[i].value)); c.appendChild(t);
      s.appendChild(c);
    }
    return s;
  }
  // A distribution's latest mix beside the usual one, largest first.
  function mixTable(m) {
    if (!m.shares) return null;
    var keys = Object.keys(m.shares).concat(Object.keys(m.reference_shares || {})).filter(function (k, i, a) { return a.indexOf(k) === i; });
    keys.sort(function (a, b) { return (m.shares[b] || 0) - (m.shares[a] || 0); });
    return table(['Value', 'This window', 'Usually'], keys.slice(0, 8).map(function (k) {
      return h('tr', null, td(k), td(inUnit('share', m.shares[k] || 0), 'num'), td(m.reference_shares && k in m.reference_shares ? inUnit('share', m.reference_shares[k]) : '—', 'num'));
    }), 'mix');
  }
  function metricPanel(m, per) {
    var title = String(m.title || m.name).replace('per window', per);
    return h('figure', { class: 'metric', 'data-metric': m.name },
      h('figcaption', null, h('h3', { text: title }), h('span', { class: 'muted', text: m.status_words || '' })),
      m.chartable ? chart(Object.assign({}, m, { title: title }))
        : h('p', { class: 'muted nochart', text: 'Too little data to chart: ' + (m.points || []).length + ' window(s) with data; a chart needs 3.' }),
      m.unit === 'mix' ? mixTable(m) : null);
  }
  function viewDrift() {
    api('GET', '/api/drift').then(function (res) {
      if (res.status === 501) {
        show([h('h1', { text: 'Drift' }), h('p', { class: 'notbuilt', id: 'drift-not-built', text: 'The drift monitor is not built into this airlock yet (the server says: ' + failed(res) + '). Nothing is measured here until it is.' })]);
        return rendered('drift');
      }
      if (!res.ok) return showError(res);
      var d = res.data, alerts = d.alerts || [];
      var per = { '1d': 'per day', '1w': 'per week', '1h': 'per hour' }[d.window] || 'per ' + (d.window || 'window');
      show([h('h1', { text: 'Drift' }),
        h('p', { class: 'muted', text: 'What the agents do, window by window (' + per.replace('per ', 'one ') + ' each), against their usual.' }),
        h('h2', { text: 'Alerts (' + alerts.length + ')' }),
        alerts.length ? h('ul', { class: 'alerts' }, alerts.map(function (a) {
          var cause = h('input', { placeholder: 'the cause you found', 'aria-label': 'the cause you found', 'data-ack-cause': a.id });
          var causes = a.causes || [];
          return h('li', { 'data-alert': a.id, class: a.acked_at ? 'acked' : null },
            h('p', { class: 'verdict-words' }, h('b', { text: a.severity === 'severe' ? 'Severe: ' : 'Alert: ' }), a.verdict || a.message || ''),
            causes.length > 1 ? h('p', { class: 'muted', text: 'other changes around then: ' + causes.slice(1).map(text).join('; ') }) : null,
            h('details', null, h('summary', { text: 'the test' }), h('span', { class: 'muted', text: a.metric + ': ' + (a.message || '') })),
            a.acked_at ? h('p', { class: 'ok', text: 'acknowledged by ' + a.acked_by + ': ' + (a.ack_cause || '') })
              : (me.role !== 'viewer' ? h('p', null, cause, h('button', { type: 'button', 'data-ack': a.id, onclick: function () {
                if (!cause.value.trim()) return flash('say what caused it', true);
                api('POST', '/api/drift/alerts/' + enc(a.id) + '/ack', { cause: cause.value }).then(function (r) {
                  if (!r.ok) return flash('acknowledge refused: ' + failed(r), true);
                  flash('alert acknowledged'); viewDrift();
                });
              } }, 'Acknowledge')) : null));
        })) : h('p', { class: 'empty', text: 'No alerts.' }),
        h('h2', { text: 'Metrics' }),
        h('div', { class: 'charts' }, (d.metrics || []).map(function (m) { return metricPanel(m, per); }))]);
      rendered('drift');
    });
  }

  // ---- log -------------------------------------------------------------------

  function viewLog(params) {
    var keys = ['record', 'batch', 'principal', 'tool', 'since'], inputs = {};
    var form = h('form', { class: 'search', onsubmit: function (ev) {
      ev.preventDefault();
      var q = keys.filter(function (k) { return inputs[k].value.trim(); }).map(function (k) { return k + '=' + enc(inputs[k].value.trim()); }).join('&');
      location.hash = '#/log' + (q ? '?' + q : '');
    } }, keys.map(function (k) {
      inputs[k] = h('input', { name: k, id: 'log-' + k, value: params.get(k) || '', placeholder: k === 'since' ? '7d, 2026-11-01' : '' });
      return h('label', null, k + ' ', inputs[k]);
    }), h('button', { type: 'submit', text: 'Search' }));
    var verify = h('p', { id: 'verify', class: 'muted', text: 'checking the chain…' });
    var results = h('div', null);
    show([h('h1', { text: 'Action log' }), verify, form, results]);
    api('GET', '/api/verify').then(function (r) {
      if (!r.ok) { verify.textContent = 'verify: ' + failed(r); verify.className = 'bad'; return; }
      verify.textContent = r.data.ok ? 'chain intact: ' + r.data.count + ' entries, head ' + r.data.head.slice(0, 16) + '…' : 'CHAIN BROKEN: ' + r.data.message;
      verify.className = r.data.ok ? 'ok' : 'bad';
    });
    // the search's filters, then the page (before=SEQ): what is shown is
    // what the export links download
    var q = keys.filter(function (k) { return params.get(k); }).map(function (k) { return k + '=' + enc(params.get(k)); }).join('&');
    var page = (params.get('before') ? 'before=' + enc(params.get('before')) : '') + (params.get('limit') ? (params.get('before') ? '&' : '') + 'limit=' + enc(params.get('limit')) : '');
    var all = [q, page].filter(Boolean).join('&');
    api('GET', '/api/log' + (all ? '?' + all : '')).then(function (res) {
      if (!res.ok) { results.appendChild(h('p', { class: 'error', text: failed(res) })); return rendered('log'); }
      var d = res.data, n = d.entries.length;
      var first = n ? d.entries[0].seq : 0, last = n ? d.entries[n - 1].seq : 0;
      var lim = params.get('limit') ? '&limit=' + enc(params.get('limit')) : '';
      results.appendChild(h('p', { class: 'muted', id: 'log-count', text: n ? 'entries ' + first + ' to ' + last + ' (newest first, ' + d.limit + ' a page)' + (d.more ? '' : '; no older entries match') : 'no entries match' }));
      results.appendChild(h('nav', { class: 'pager', 'aria-label': 'Log pages' },
        params.get('before') ? link('#/log' + (q ? '?' + q : ''), 'Newest') : null, ' ',
        d.more ? h('a', { href: '#/log?' + (q ? q + '&' : '') + 'before=' + enc(d.next_before) + lim, id: 'log-older', rel: 'next', text: 'Older entries' }) : null, ' ',
        h('a', { href: '/api/log?' + (all ? all + '&' : '') + 'format=csv', id: 'log-csv', download: 'airlock-log.csv', text: 'Export this page as CSV' }), ' ',
        h('a', { href: '/api/log?' + (all ? all + '&' : '') + 'format=json', id: 'log-json', download: 'airlock-log.json', text: 'as JSON' })));
      results.appendChild(entriesTable(d.entries));
      rendered('log');
    });
  }

  // ---- autonomy ----------------------------------------------------------------

  function pct(v) { return v == null ? '' : (Math.round(Number(v) * 1000) / 10) + '%'; }
  function viewAutonomy() {
    api('GET', '/api/autonomy').then(function (res) {
      if (!res.ok) return showError(res);
      show([h('h1', { text: 'Autonomy' }),
        h('p', { class: 'muted', text: 'Earned per workflow with sample audits: the inspection level sets how much of a batch a person reads.' }),
        table(['Workflow', 'Effect', 'Level', 'Inspected', 'Defects', 'Upper bound', 'Target', 'Clean run', 'Sample of a full batch'], res.data.workflows.map(function (w) {
          return h('tr', { 'data-workflow': w.workflow }, td(w.workflow), td(w.effect || ''), td(badge(w.level)), td(String(w.inspected), 'num'),
            td(String(w.defects), 'num'), td(pct(w.upper_bound) + (w.confidence ? ' at ' + pct(w.confidence) : ''), 'num'),
            td(pct(w.defect_rate), 'num'), td(String(w.clean_run), 'num'),
            td(w.lot ? w.sample_of_lot + ' of ' + w.lot : (w.note || ''), 'num'));
        }), 'autonomy')]);
      rendered('autonomy');
    });
  }

  // Seeded checks (issue 21): a reviewer sees their own record, an admin
  // everyone's; the catch rate with its exact bounds, and what the record
  // makes of the reviewer's passes (weight 0: left out of autonomy).
  function viewReliability() {
    api('GET', '/api/reliability').then(function (res) {
      if (!res.ok) return showError(res);
      var d = res.data, recs = d.records || [];
      show([h('h1', { text: 'Reliability' }),
        h('p', { class: 'muted', text: (d.scope === 'everyone' ? 'Every reviewer\'s' : 'Your') +
          ' record on seeded checks: wrong items planted in samples (sampling.check_every), caught when failed. The bounds are exact (Clopper-Pearson) at the workflow\'s confidence.' }),
        recs.length ? table(['Reviewer', 'Workflow', 'Checks seen', 'Caught', 'Missed', 'Catch rate', 'Bounds', 'Counts in autonomy', 'Samples left out'], recs.map(function (x) {
          var rate = x.seen ? x.caught / x.seen : null;
          return h('tr', { 'data-reviewer': x.reviewer, 'data-workflow': x.workflow }, td(x.reviewer), td(x.workflow),
            td(String(x.seen), 'num'), td(String(x.caught), 'num'), td(String(x.missed), 'num'),
            td([h('meter', { min: 0, max: 1, value: rate == null ? 0 : rate, low: x.min_catch_rate || null, optimum: 1, title: pct(rate) }), ' ', rate == null ? 'no check yet' : pct(rate)], 'num'),
            td(pct(x.catch_lower) + ' – ' + pct(x.catch_upper) + ' at ' + pct(x.confidence), 'num'),
            td(x.weight > 0 ? 'yes' : 'no: below min_catch_rate ' + pct(x.min_catch_rate)), td(String(x.discounted || 0), 'num'));
        }), 'reliability') : h('p', { class: 'muted', text: 'No seeded check has been judged yet.' })]);
      rendered('reliability');
    });
  }

  // ---- routing -----------------------------------------------------------------

  function showError(res) {
    if (res.status === 401) return; // the sign-in form is already shown
    show([h('h1', { text: 'Error' }), h('p', { class: 'error', text: failed(res) })]);
    rendered('error');
  }
  // Views in files of their own (console/replay.js) register in
  // window.airlockViews before this script runs and draw with these.
  var kit = { h: h, svg: svg, vis: vis, api: api, show: show, table: table, td: td, link: link, enc: enc, day: day,
    rendered: rendered, showError: showError, failed: failed, flash: flash, me: function () { return me; } };
  // Loads the files of a view kept out of every page (<template
  // id="lazy-NAME">: its script and stylesheet, by digest), then calls
  // then(); false when there is no such view or it was loaded already.
  function lazy(name, then) {
    var t = document.getElementById('lazy-' + name), left = 0;
    if (!t || !t.content) return false;
    t.parentNode.removeChild(t);
    var done = function () { if (--left === 0) then(); };
    Array.prototype.forEach.call(t.content.children, function (e) {
      var n;
      if (e.tagName === 'SCRIPT') { n = document.createElement('script'); n.src = e.getAttribute('src'); }
      else if (e.tagName === 'LINK') { n = document.createElement('link'); n.rel = 'stylesheet'; n.href = e.getAttribute('href'); }
      else return;
      left++;
      n.onload = n.onerror = done;
      document.head.appendChild(n);
    });
    return left > 0;
  }
  function route() {
    var hash = routeOf(), path = hash.slice(1), qi = path.indexOf('?');
    var params = new URLSearchParams(qi >= 0 ? path.slice(qi + 1) : '');
    var parts = (qi >= 0 ? path.slice(0, qi) : path).split('/').filter(Boolean).map(decodeURIComponent);
    if (!me && !booting) return viewLogin();
    Array.prototype.forEach.call(document.querySelectorAll('[data-nav]'), function (a) {
      a.className = a.getAttribute('data-nav') === parts[0] ? 'current' : '';
    });
    switch (parts[0]) {
      case 'batch': return viewBatch(parts[1]);
      case 'why': return viewWhy(parts[1], parts[2]);
      case 'drafts': return viewDrafts(params);
      case 'draft': return viewDraft(parts[1]);
      case 'brief': return viewBrief(parts[1]);
      case 'drift': return viewDrift();
      case 'log': return viewLog(params);
      case 'autonomy': return viewAutonomy();
      case 'reliability': return viewReliability();
      case 'login': case 'queue': case undefined: return viewQueue(params);
      default:
        // a view in a file of its own is loaded the first time it is opened
        if (!(window.airlockViews && window.airlockViews[parts[0]]) && lazy(parts[0], route)) return;
        if (window.airlockViews && Object.prototype.hasOwnProperty.call(window.airlockViews, parts[0])) return window.airlockViews[parts[0]](kit, params, parts);
        return showError({ status: 404, data: { error: 'no page ' + hash } });
    }
  }

  window.addEventListener('hashchange', function () { flash(''); route(); });
  document.getElementById('logout').addEventListener('click', logout);

  // A one-time login link (/login?link=...) signs in, then leaves the
  // secret out of the address bar and history.
  var link0 = new URLSearchParams(location.search).get('link');
  if (link0) {
    api('POST', '/login', { link: link0 }).then(function (res) {
      history.replaceState(null, '', '/#/queue');
      if (!res.ok) return viewLogin(failed(res));
      signedIn(res.data);
      route();
    });
  } else {
    booting = api('GET', '/api/me').then(function (res) {
      booting = null;
      if (res.ok) signedIn(res.data);
      return res;
    });
    route();
  }
  // what the first view did not take is not kept for a later one: it
  // would be stale by then
  boot = {};
})();
