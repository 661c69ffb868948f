// boot.js — starts the first view's requests while the page still loads.
//
// A plain script in the head, before the stylesheet: it runs as soon as it
// arrives (the stylesheet does not hold it back, nor does the deferred
// app.js's download), so /api/me and the view's data are on their way
// while app.js is fetched and compiled; app.js takes the answers over
// (window.__airlockBoot, each used once). Only GETs the page would make
// anyway, same origin, no CSRF token needed or sent; nothing is shown here.
'use strict';
(function () {
  // a one-time sign-in link signs in first (app.js): nothing to fetch yet
  if (new URLSearchParams(location.search).get('link')) return;
  var get = function (p) { return fetch(p, { credentials: 'same-origin' }); };
  var boot = { '/api/me': get('/api/me') };
  var hash = location.hash, m = /^#\/batch\/([^/?]+)$/.exec(hash), p = null;
  // the same paths app.js's views ask for
  if (m) {
    try { p = '/api/batches/' + encodeURIComponent(decodeURIComponent(m[1])); } catch (e) { p = null; }
  } else if (hash === '' || hash === '#/queue' || hash === '#/login') {
    p = '/api/queue';
  }
  if (p) boot[p] = get(p);
  window.__airlockBoot = boot;
})();
