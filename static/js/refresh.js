/* Refreshes the page's body in place while the tab is visible: the pages that opt in
   (data-refresh="<seconds>" on <main id="content">) fetch themselves and swap
   #page-body and the monitor heartbeat, so the scroll position stays. Skipped while
   someone types in a form of the page; a Pause button stops it, remembered per browser. */
(function () {
  "use strict";
  var main = document.getElementById("content");
  var seconds = main ? parseFloat(main.getAttribute("data-refresh")) : 0;
  if (!(seconds > 0) || !window.fetch || !window.DOMParser) return;
  var KEY = "monitoring.refresh.paused";
  var paused = false;
  try { paused = window.localStorage.getItem(KEY) === "1"; } catch (e) { /* private mode */ }
  var timer = null;
  var refreshes = 0;

  var control = document.createElement("div");
  control.className = "refresh-control small";
  var status = document.createElement("span");
  status.setAttribute("role", "status");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary refresh-toggle";
  control.appendChild(status);
  control.appendChild(button);
  main.insertBefore(control, main.firstChild);

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function utcNow() {
    var d = new Date();
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }
  var lastNote = "loaded " + utcNow();
  function show() {
    status.textContent = (paused ? "Auto-refresh paused" : "Refreshes every " + seconds + " s") +
      " · " + lastNote;
    button.textContent = paused ? "Resume auto-refresh" : "Pause auto-refresh";
    button.setAttribute("aria-pressed", paused ? "true" : "false");
    main.setAttribute("data-refresh-state", paused ? "paused" : "running");
  }

  function editing(body) {
    var active = document.activeElement;
    if (active && body.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
      return true;
    }
    var fields = body.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if ((f.type === "checkbox" || f.type === "radio") ? f.checked !== f.defaultChecked
          : (f.type !== "hidden" && f.value !== f.defaultValue)) return true;
    }
    var options = body.querySelectorAll("select option");
    for (var j = 0; j < options.length; j++) {
      if (options[j].selected !== options[j].defaultSelected) return true;
    }
    return false;
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = null;
    if (!paused && document.visibilityState === "visible") {
      timer = window.setTimeout(refresh, seconds * 1000);
    }
  }

  function refresh() {
    var body = document.getElementById("page-body");
    if (paused || document.visibilityState !== "visible" || !body) return;
    if (editing(body)) { lastNote = "waiting: a form is being filled in"; show(); schedule(); return; }
    window.fetch(window.location.href, {
      credentials: "same-origin", cache: "no-store", headers: {"X-Requested-With": "refresh"}
    }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("status " + response.status);
      return response.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("page-body");
      var current = document.getElementById("page-body");
      if (!fresh || !current || paused || editing(current)) return;
      current.innerHTML = fresh.innerHTML;
      var beat = document.getElementById("monitor-heartbeat");
      var freshBeat = doc.getElementById("monitor-heartbeat");
      if (beat && freshBeat) { beat.className = freshBeat.className; beat.innerHTML = freshBeat.innerHTML; }
      refreshes += 1;
      main.setAttribute("data-refreshes", String(refreshes));
      lastNote = "updated " + utcNow();
    }).catch(function () {
      lastNote = "could not refresh at " + utcNow() + ", will retry";
    }).then(function () { show(); schedule(); });
  }

  button.addEventListener("click", function () {
    paused = !paused;
    try { window.localStorage.setItem(KEY, paused ? "1" : "0"); } catch (e) { /* ignore */ }
    show();
    schedule();
  });
  document.addEventListener("visibilitychange", schedule);
  main.setAttribute("data-refreshes", "0");
  show();
  schedule();
}());
