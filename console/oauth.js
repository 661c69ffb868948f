// oauth.js — the consent page of /oauth/authorize: an admin signs in, picks
// the connector and the agent name, and consents (POST /api/oauth/consent);
// the answer says where to send the browser. At /oauth/grants: the grants
// given, each revocable by an admin. Text only: nothing from the
// request is put into HTML.
(function () {
  'use strict';
  var q = new URLSearchParams(location.search);
  var fields = ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge',
    'code_challenge_method', 'resource', 'scope'];
  var me = null;

  function $(id) { return document.getElementById(id); }
  function problem(msg) { var p = $('problem'); p.textContent = msg; p.hidden = false; }
  function request() {
    var o = {};
    fields.forEach(function (f) { if (q.has(f)) o[f] = q.get(f); });
    return o;
  }
  function api(method, path, body) {
    var opt = { method: method, credentials: 'same-origin', headers: {} };
    if (body) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    if (me) opt.headers['X-CSRF-Token'] = me.csrf;
    return fetch(path, opt).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.error || ('HTTP ' + r.status)); e.status = r.status; throw e; }
        return j;
      });
    });
  }
  function showConsent() {
    $('who').textContent = me.name + ' (' + me.role + ')';
    api('GET', '/api/oauth/request?' + q.toString()).then(function (info) {
      $('client-name').textContent = info.client_name;
      $('redirect-uri').textContent = info.redirect_uri;
      if (info.connector) {
        document.querySelectorAll('input[name=connector]').forEach(function (i) {
          i.checked = i.value === info.connector;
          i.disabled = i.value !== info.connector;
        });
      }
      if (!info.can_consent) { $('not-admin').hidden = false; $('allow').disabled = true; }
      $('consent').hidden = false;
    }, function (e) { problem('This request cannot be granted: ' + e.message); });
  }
  function go(j) { location.assign(j.redirect); }
  $('consent-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = request();
    body.connector = document.querySelector('input[name=connector]:checked').value;
    body.agent = $('agent').value;
    api('POST', '/api/oauth/consent', body).then(go, function (e) { problem(e.message); });
  });
  $('deny').addEventListener('click', function () {
    api('POST', '/api/oauth/deny', request()).then(go, function (e) { problem(e.message); });
  });
  $('signin-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    api('POST', '/login', { name: $('signin-name').value, password: $('signin-password').value })
      .then(function () { return api('GET', '/api/me'); })
      .then(function (m) { me = m; $('signin').hidden = true; show(); },
        function (e) { problem('Sign-in failed: ' + e.message); });
  });
  function cell(tr, text) { var td = document.createElement('td'); td.textContent = text || ''; tr.appendChild(td); return td; }
  function showGrants() {
    $('who').textContent = me.name + ' (' + me.role + ')';
    api('GET', '/api/oauth/grants').then(function (j) {
      var body = $('grant-rows');
      body.textContent = '';
      j.grants.forEach(function (g) {
        var tr = document.createElement('tr');
        [g.id, g.client_name || g.client_id, g.agent, g.connector, g.created_at, g.created_by,
          g.revoked_at ? g.revoked_at + ' (' + (g.revoked_why || '') + ')' : ''].forEach(function (t) { cell(tr, t); });
        var td = cell(tr, '');
        if (!g.revoked_at && me.role === 'admin') {
          var b = document.createElement('button');
          b.type = 'button';
          b.textContent = 'Revoke';
          b.addEventListener('click', function () {
            api('POST', '/api/oauth/grants/' + encodeURIComponent(g.id) + '/revoke').then(showGrants,
              function (e) { problem(e.message); });
          });
          td.appendChild(b);
        }
        body.appendChild(tr);
      });
      $('grants').hidden = false;
    }, function (e) { problem(e.message); });
  }
  // /oauth/authorize asks for consent; /oauth/grants lists what was given
  var show = q.has('client_id') ? showConsent : showGrants;
  api('GET', '/api/me').then(function (m) { me = m; show(); },
    function () { $('signin').hidden = false; });
})();
