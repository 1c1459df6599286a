// The console's page: refreshes its live part and replays dead letters.
// Every request it makes carries the X-Console-Request header, which a page
// of another site cannot send to the console without its leave.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return; // the login form
  var auto = document.getElementById("auto");
  var busy = false;

  function refresh() {
    if (busy) return Promise.resolve();
    busy = true;
    return fetch("/live", { headers: { "X-Console-Request": "refresh" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { location.href = "/"; return; }
        if (!r.ok) return;
        return r.text().then(function (html) { live.innerHTML = html; });
      })
      .catch(function () { /* the console is restarting: try again later */ })
      .finally(function () { busy = false; });
  }

  setInterval(function () { if (auto.checked) refresh(); }, 3000);

  live.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button.replay");
    if (!btn) return;
    var outcome = btn.parentElement.querySelector(".outcome");
    btn.disabled = true;
    btn.textContent = "Replaying…";
    outcome.textContent = "";
    var path = "/dead-letters/" + encodeURIComponent(btn.dataset.module) + "/" + encodeURIComponent(btn.dataset.id) + "/replay";
    fetch(path, { method: "POST", headers: { "X-Console-Request": "replay" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.ok) return refresh();
        return r.json().catch(function () { return {}; }).then(function (p) {
          btn.disabled = false;
          btn.textContent = "Replay";
          outcome.textContent = (p.detail || p.title || ("failed: " + r.status));
        });
      })
      .catch(function (e) {
        btn.disabled = false;
        btn.textContent = "Replay";
        outcome.textContent = "failed: " + e;
      });
  });
})();
