/* /console/help: keep the list of open help calls current and ring when a new one comes.
   The server sends the list, rendered by the page's own template, as server-sent events
   (/console/help/stream); without this script the page works with its refresh link. */
(function () {
  "use strict";
  var section = document.getElementById("help-calls");
  var list = document.getElementById("help-list");
  var live = document.getElementById("help-live");
  if (!section || !list || !window.EventSource) {
    return;
  }
  var known = new Set((section.dataset.keys || "").split(" ").filter(Boolean));
  var chime = new Audio(section.dataset.sound);
  chime.preload = "auto";
  var chimes = 0;

  function ring() {
    chimes += 1;
    document.body.dataset.chimes = String(chimes);
    var playing = chime.play();
    if (playing && playing.catch) {
      playing.then(function () {
        document.body.dataset.played = String(chimes);
      }).catch(function () {
        /* the browser wants a tap on the page first: the list still shows the call */
      });
    }
  }

  function show(doc) {
    var keys = (doc.keys || "").split(" ").filter(Boolean);
    var fresh = keys.filter(function (k) { return !known.has(k); });
    var focusInside = list.contains(document.activeElement);
    list.innerHTML = doc.html; /* our own template's output, escaped on the server */
    if (focusInside) {
      document.getElementById("help-calls-title").setAttribute("tabindex", "-1");
      document.getElementById("help-calls-title").focus();
    }
    known = new Set(keys);
    section.dataset.keys = keys.join(" ");
    if (fresh.length) {
      live.textContent = live.dataset.new + " (" + fresh.length + ")";
      ring();
    }
  }

  var source = new EventSource(section.dataset.stream);
  source.addEventListener("calls", function (event) {
    show(JSON.parse(event.data));
  });
  source.addEventListener("signedout", function () {
    source.close();
    window.location.reload();
  });
  document.body.dataset.helpStream = "on";
}());
