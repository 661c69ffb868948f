// replay.js — the policy replay view (#/replay, issue 21): the last
// `airlock policy replay` run (from the log, whoever ran it), and for an
// admin a form to replay a candidate policy. Charts follow the drift
// view's conventions: a title in words above each chart, axes with units,
// dates on the x axis, values printed, no raw keys. Loaded before app.js,
// which calls the view with its helpers (kit) when the route is #/replay.
(function () {
  'use strict';
  var DECISIONS = [['staged', 'staged for a sample audit'], ['blocked', 'blocked for a person'],
    ['allowed', 'allowed unattended'], ['refused', 'refused']];
  var WORDS = { staged: 'staged', blocked: 'blocked', allowed: 'allowed unattended', refused: 'refused', none: 'not queued' };
  var W = 520, L = 150, R = 48, T = 8;

  function num(v) { return v == null ? '' : String(Math.round(Number(v) * 10) / 10); }
  function ticks(hi) {
    var step = Math.pow(10, Math.floor(Math.log(hi || 1) / Math.LN10)), t = [], v;
    if (hi / step > 5) step *= 2;
    if (hi / step > 5) step = step / 2 * 5;
    for (v = 0; v <= hi + 1e-9; v += step) t.push(v);
    return t;
  }

  // Grouped horizontal bars: one row per category, the policy in force
  // (grey) above the candidate (blue), each bar's value printed at its end.
  function bars(k, title, unit, rows) {
    var bh = 14, gap = 10, H = T + rows.length * (2 * bh + gap) + 34, i;
    var hi = Math.max.apply(null, rows.map(function (r) { return Math.max(r[1], r[2]); }).concat([1]));
    var tk = ticks(hi); hi = Math.max(hi, tk[tk.length - 1]);
    var s = k.svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img',
      'aria-label': k.vis(title) + ': ' + rows.map(function (r) { return r[0] + ' ' + num(r[1]) + ' under the policy in force, ' + num(r[2]) + ' under the candidate'; }).join('; ') });
    function x(v) { return L + v / hi * (W - L - R); }
    function txt(xx, yy, t, cls, anchor) { var e = k.svg('text', { x: xx, y: yy, class: cls, 'text-anchor': anchor || 'start' }); e.textContent = k.vis(t); s.appendChild(e); }
    var base = H - 30;
    s.appendChild(k.svg('line', { x1: L, y1: T, x2: L, y2: base, class: 'axis' }));
    s.appendChild(k.svg('line', { x1: L, y1: base, x2: W - R, y2: base, class: 'axis' }));
    tk.forEach(function (v) {
      s.appendChild(k.svg('line', { x1: x(v), y1: base, x2: x(v), y2: base + 4, class: 'axis' }));
      txt(x(v), base + 15, num(v), 'tick', 'middle');
    });
    txt(L, H - 2, unit, 'tick unit');
    for (i = 0; i < rows.length; i++) {
      var y0 = T + i * (2 * bh + gap);
      txt(L - 6, y0 + bh + 4, rows[i][0], 'tick', 'end');
      [[rows[i][1], 'bar-old', 'policy in force'], [rows[i][2], 'bar-new', 'candidate']].forEach(function (b, j) {
        var r = k.svg('rect', { x: L, y: y0 + j * bh, width: Math.max(0, x(b[0]) - L), height: bh - 2, class: b[1] });
        var t = k.svg('title', {}); t.textContent = k.vis(rows[i][0] + ', ' + b[2] + ': ' + num(b[0])); r.appendChild(t);
        s.appendChild(r);
        txt(x(b[0]) + 4, y0 + j * bh + bh - 4, num(b[0]), 'value');
      });
    }
    return s;
  }

  // Old and new over the days of the window: dates on the x axis, the
  // value on the y axis in its unit; the policy in force dashed.
  function lines(k, title, unit, days, key) {
    var H = 180, LL = 52, B = 34, i;
    var olds = days.map(function (d) { return Number((d.old || {})[key] || 0); });
    var news = days.map(function (d) { return Number((d.new || {})[key] || 0); });
    var hi = Math.max.apply(null, olds.concat(news).concat([1]));
    var tk = ticks(hi); hi = Math.max(hi, tk[tk.length - 1]);
    var s = k.svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img',
      'aria-label': title + ', ' + days.length + ' day(s) from ' + k.day(days[0].day) + ' to ' + k.day(days[days.length - 1].day) +
        ': ' + olds.reduce(function (a, b) { return a + b; }, 0) + ' under the policy in force, ' + news.reduce(function (a, b) { return a + b; }, 0) + ' under the candidate' });
    function x(j) { return LL + (days.length < 2 ? (W - LL - 12) / 2 : j * (W - LL - 12) / (days.length - 1)); }
    function y(v) { return H - B - v / hi * (H - T - B); }
    function txt(xx, yy, t, cls, anchor) { var e = k.svg('text', { x: xx, y: yy, class: cls, 'text-anchor': anchor || 'start' }); e.textContent = k.vis(t); s.appendChild(e); }
    s.appendChild(k.svg('line', { x1: LL, y1: H - B, x2: W - 12, y2: H - B, class: 'axis' }));
    s.appendChild(k.svg('line', { x1: LL, y1: T, x2: LL, y2: H - B, class: 'axis' }));
    tk.forEach(function (v) {
      s.appendChild(k.svg('line', { x1: LL - 4, y1: y(v), x2: LL, y2: y(v), class: 'axis' }));
      txt(LL - 6, y(v) + 4, num(v), 'tick', 'end');
    });
    [0, Math.floor((days.length - 1) / 2), days.length - 1].filter(function (v, j, a) { return a.indexOf(v) === j; }).forEach(function (j) {
      txt(x(j), H - B + 16, k.day(days[j].day), 'tick', days.length < 2 ? 'middle' : j === 0 ? 'start' : j === days.length - 1 ? 'end' : 'middle');
    });
    txt(LL, H - 2, unit, 'tick unit');
    [[olds, 'line-old', 'pt-old', 'policy in force'], [news, 'line', 'pt', 'candidate']].forEach(function (sr) {
      var d = '';
      for (i = 0; i < days.length; i++) d += (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(sr[0][i]).toFixed(1);
      if (days.length > 1) s.appendChild(k.svg('path', { d: d, class: sr[1] }));
      for (i = 0; i < days.length; i++) {
        var c = k.svg('circle', { cx: x(i), cy: y(sr[0][i]), r: 3, class: sr[2] });
        var t = k.svg('title', {}); t.textContent = k.vis(k.day(days[i].day) + ', ' + sr[3] + ': ' + num(sr[0][i])); c.appendChild(t);
        s.appendChild(c);
      }
    });
    return s;
  }

  function legend(k) {
    return k.h('p', { class: 'legend' }, k.h('span', null, k.h('span', { class: 'key old' }), 'policy in force'),
      k.h('span', null, k.h('span', { class: 'key new' }), 'candidate'));
  }
  function figure(k, title, chart, note) {
    return k.h('figure', { class: 'replay' }, k.h('figcaption', null, k.h('h3', { text: title }), note ? k.h('span', { class: 'muted', text: note }) : null), legend(k), chart);
  }
  function change(key) {
    var p = String(key).split('->');
    return (WORDS[p[0]] || p[0]) + ' → ' + (WORDS[p[1]] || p[1]);
  }

  function runLine(k, run, rep) {
    return k.h('p', { class: 'replay-run', id: 'replay-run' },
      'Last run ' + k.day(run.at) + ' ' + String(run.at || '').slice(11, 16) + ' UTC by ' + run.principal + ' (' + run.surface + '): candidate ',
      k.h('b', { text: run.policy || '(unnamed)' }), ' (digest ' + String(run.digest || '').slice(0, 12) + '…), ' +
      (!run.since ? 'every logged proposal' : /^\d+[hdw]$/.test(run.since) ? 'the proposals of the last ' + run.since.replace(/d$/, ' days').replace(/h$/, ' hours').replace(/w$/, ' weeks')
        : 'the proposals logged since ' + run.since) +
      (rep ? ': ' + rep.proposals + ' decided again, ' + rep.changed + ' differently.' : '.'));
  }

  function report(k, rep) {
    var dec = rep.decisions || {}, rad = rep.radius || {}, load = rep.load || {}, wait = rep.waiting || null;
    var days = (rep.daily || []).slice().sort(function (a, b) { return a.day < b.day ? -1 : 1; });
    var changes = Object.keys(rep.changes || {});
    var out = [];
    out.push(k.h('h2', { text: 'Decisions' }));
    out.push(k.h('div', { class: 'replay-charts' },
      figure(k, 'Proposals by decision, policy in force and candidate', bars(k, 'Proposals by decision', 'proposals',
        DECISIONS.map(function (d) { return [d[1], (dec.old || {})[d[0]] || 0, (dec.new || {})[d[0]] || 0]; }))),
      figure(k, 'Running radius of the queued proposals', bars(k, 'Running radius of the queued proposals', 'records waiting for a person, agent and workflow',
        [['median', 'p50'], ['90th percentile', 'p90'], ['99th percentile', 'p99'], ['largest', 'max']].map(function (p) {
          return [p[0], (rad.old || {})[p[1]] || 0, (rad.new || {})[p[1]] || 0];
        })), (rad.new || {}).n + ' proposals queued under the candidate, ' + (rad.old || {}).n + ' under the policy in force')));
    out.push(k.h('h2', { text: 'Decisions that change (' + rep.changed + ' of ' + rep.proposals + ')' }));
    out.push(changes.length ? k.table(['Change', 'Proposals'], changes.map(function (c) {
      return k.h('tr', { 'data-change': c }, k.td(change(c)), k.td(String(rep.changes[c]), 'num'));
    }), 'replay-changes') : k.h('p', { class: 'empty', text: 'None: the candidate decides every proposal as it was decided.' }));
    if ((rep.examples || []).length)
      out.push(k.h('h3', { text: 'Examples' }), k.table(['Entry', 'When', 'Agent', 'Workflow', 'Change', 'Records', 'Why'], rep.examples.map(function (e) {
        return k.h('tr', null, k.td(k.link('#/log?since=' + k.enc(String(e.at).slice(0, 10)), '#' + e.seq)), k.td(k.day(e.at) + ' ' + String(e.at).slice(11, 16)),
          k.td(e.principal), k.td(e.workflow), k.td(change(e.old + '->' + e.new)),
          k.td(e.radius_old === e.radius_new ? String(e.radius_new) : e.radius_old + ' → ' + e.radius_new, 'num'), k.td(e.why || ''));
      }), 'replay-examples'));
    out.push(k.h('h2', { text: 'Reviewer load' }));
    out.push(k.h('p', { class: 'muted', text: 'Over ' + (load.days || 0) + ' day(s) with proposals: ' +
      num((load.old || {}).per_day && load.old.per_day.items_to_judge) + ' items to judge and ' + num((load.old || {}).per_day && load.old.per_day.batches_to_approve) +
      ' batches to approve a day under the policy in force; ' + num((load.new || {}).per_day && load.new.per_day.items_to_judge) + ' and ' +
      num((load.new || {}).per_day && load.new.per_day.batches_to_approve) + ' under the candidate (samples at each policy\'s plans).' }));
    out.push(days.length ? k.h('div', { class: 'replay-charts' },
      figure(k, 'Items to judge per day', lines(k, 'Items to judge per day', 'sample items to judge, per day', days, 'items')),
      figure(k, 'Batches to approve per day', lines(k, 'Batches to approve per day', 'blocked batches a person approves, per day', days, 'batches')))
      : k.h('p', { class: 'empty', text: 'No proposal in the window.' }));
    if (wait) {
      var wo = wait.old || {}, wn = wait.new || {}, wc = Object.keys(wait.changes || {});
      out.push(k.h('h2', { text: 'Still waiting at the end of the window' }));
      out.push(k.table(['', 'Batches waiting', 'Staged for a sample', 'Blocked for a person', 'Items to judge'], [['Policy in force', wo], ['Candidate', wn]].map(function (r) {
        return k.h('tr', null, k.td(r[0]), k.td(String(r[1].batches || 0), 'num'), k.td(String(r[1].staged || 0), 'num'), k.td(String(r[1].blocked || 0), 'num'), k.td(String(r[1].items_to_judge || 0), 'num'));
      }), 'replay-waiting'));
      if (wc.length) out.push(k.h('ul', { class: 'replay-waiting-changes' }, wc.map(function (c) { return k.h('li', { text: change(c) + ': ' + wait.changes[c] + ' batch(es)' }); })));
    }
    return out;
  }

  function form(k) {
    var pol = k.h('textarea', { id: 'replay-policy', name: 'policy', spellcheck: 'false', placeholder: 'version: 1\nworkflows:\n  ...' });
    var name = k.h('input', { id: 'replay-name', name: 'name', placeholder: 'candidate.yaml' });
    var since = k.h('input', { id: 'replay-since', name: 'since', placeholder: '30d (empty: every proposal)' });
    // a policy file from the admin's disk fills the text (read here, sent as text)
    var file = k.h('input', { id: 'replay-file', type: 'file', accept: '.yaml,.yml,text/yaml', onchange: function () {
      var fl = file.files && file.files[0];
      if (!fl) return;
      var rd = new FileReader();
      rd.onload = function () { pol.value = String(rd.result); if (!name.value) name.value = fl.name; };
      rd.readAsText(fl);
    } });
    var f = k.h('form', { class: 'replay', onsubmit: function (ev) {
      ev.preventDefault();
      if (!pol.value.trim()) return k.flash('paste the candidate policy first', true);
      k.api('POST', '/api/replay', { policy: pol.value, name: name.value.trim(), since: since.value.trim() }).then(function (res) {
        if (!res.ok) return k.flash('replay refused: ' + k.failed(res), true);
        k.flash('replayed: ' + res.data.report.proposals + ' proposals, ' + res.data.report.changed + ' decided differently');
        draw(k, res.data);
      });
    } },
    k.h('label', { for: 'replay-policy', text: 'Candidate policy (YAML, as airlock policy check reads it)' }), pol,
    k.h('label', null, 'or load a policy file ', file),
    k.h('div', { class: 'row' }, k.h('label', null, 'Name ', name), k.h('label', null, 'Window ', since),
      k.h('button', { type: 'submit', id: 'replay-submit', text: 'Replay' })));
    return f;
  }

  function draw(k, d) {
    var me = k.me() || {}, run = d.run, rep = d.report;
    k.show([k.h('h1', { text: 'Policy replay' }),
      k.h('p', { class: 'muted', text: 'Every logged proposal decided again under a candidate policy, by the gate\'s own decision function, from what the gate knew at the time; the batches that would still wait at the end are re-decided too. Nothing is written but one log entry saying the replay ran.' }),
      run ? runLine(k, run, rep) : k.h('p', { class: 'empty', id: 'replay-run', text: 'No replay has run yet. Run one here or with airlock policy replay NEW.yaml.' }),
      me.role === 'admin' ? [k.h('h2', { text: 'Replay a candidate' }), form(k)] : null,
      run && !rep ? k.h('p', { class: 'muted', text: 'This run was logged before replays kept their report: run it again to see the charts.' }) : null,
      rep ? report(k, rep) : null]);
    k.rendered('replay');
  }

  window.airlockViews = window.airlockViews || {};
  window.airlockViews.replay = function (k) {
    k.api('GET', '/api/replay').then(function (res) {
      if (!res.ok) return k.showError(res);
      draw(k, res.data);
    });
  };
})();
