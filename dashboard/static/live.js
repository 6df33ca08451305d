// Live updates: the page's live part is polled with its ETag every 1.5 s (a poll that
// finds nothing new costs a 304) and replaced when it changed. Without JavaScript the
// page is the same, only static.
(function () {
  "use strict";
  var region = document.getElementById("live");
  if (!region || !region.dataset.live || !window.fetch) { return; }
  var url = region.dataset.live, etag = null, status = document.getElementById("live-status");
  function poll() {
    if (document.activeElement && region.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
      return setTimeout(poll, 1500); // someone is typing in a form of the live part
    }
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, credentials: "same-origin", cache: "no-cache" }).then(function (res) {
      if (res.status === 200) {
        etag = res.headers.get("ETag");
        return res.text().then(function (html) { region.innerHTML = html; if (status) { status.textContent = "updated live"; } });
      }
      if (res.status === 401) { window.location.reload(); }
    }).catch(function () {
      if (status) { status.textContent = "live updates paused (no connection)"; }
    }).then(function () { setTimeout(poll, 1500); });
  }
  setTimeout(poll, 1500);
})();
