// The holder's first connection, started by a classic script at the top of
// the page's head (issue 31: "Open viewer" → first frame). Module scripts run
// only once the page is parsed — and an async one, in Chromium, after the
// parser's own work — so a mint issued by tech-page.js waited ~80 ms for the
// page and its ~60 modules, then queued at the server behind the page's other
// requests. This runs as the head is parsed: it mints the viewer token and
// opens its WebSocket while the rest loads, keeping what arrives (the
// desktop's RFB greeting) until EarlySocket adopts the socket.
//
// It acts only when the page renders <meta name="viewer-connect-at-once">
// (the holder, a ticket that allows a session: the page would connect at
// once). tech-page.js takes the connection once (early-socket.js's
// takeFirstConnection); every later connection mints its own. No module
// syntax (a classic script), one global: window.helpdeskFirstConnection.
'use strict';
(function startFirstConnection() {
  /** Messages kept until EarlySocket adopts the socket: the greeting and little more (a bound all the same). */
  var MAX_EARLY_MESSAGES = 64;
  var atOnce = document.querySelector('meta[name="viewer-connect-at-once"]');
  var csrf = document.querySelector('meta[name="csrf-token"]');
  if (!atOnce || !csrf) return;

  /** The socket and what it said before EarlySocket listens (early-socket.js reads these fields). */
  function openSocket(url) {
    var ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    var started = { ws: ws, messages: [], opened: false, closedCode: null, release: null };
    function keep(e) {
      if (started.messages.length < MAX_EARLY_MESSAGES) started.messages.push(e);
      else ws.close(1008, 'viewer not ready');
    }
    function opened() {
      started.opened = true;
    }
    function closed(e) {
      started.closedCode = e.code;
    }
    ws.addEventListener('message', keep);
    ws.addEventListener('open', opened);
    ws.addEventListener('close', closed);
    started.release = function release() {
      ws.removeEventListener('message', keep);
      ws.removeEventListener('open', opened);
      ws.removeEventListener('close', closed);
    };
    return started;
  }

  var first = fetch('/api/v1/tickets/' + Number(atOnce.content) + '/viewer-token', {
    method: 'POST',
    headers: { 'x-csrf-token': csrf.content, accept: 'application/json' },
    credentials: 'same-origin',
  }).then(function minted(res) {
    return res.json().catch(function notJson() {
      return {};
    }).then(function answer(data) {
      // The same error the page's own mint throws: its message and the API's code.
      if (!res.ok) throw Object.assign(new Error((data.error && data.error.message) || 'HTTP ' + res.status), { code: data.error && data.error.code });
      return { minted: data, started: openSocket(data.url) };
    });
  });
  // Its failure is the page's to say, when it takes the connection.
  first.catch(function saidByThePage() {
    return null;
  });
  window.helpdeskFirstConnection = first;
})();
