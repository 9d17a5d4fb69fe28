// The import page: while an import runs, poll its progress and update the
// bar and the counts; reload once it ends, to show the rows refused.
(function () {
  "use strict";
  var job = document.querySelector("[data-testid=import-job]");
  if (!job || job.dataset.importStatus !== "running") {
    return;
  }
  var bar = job.querySelector("progress");
  var status = job.querySelector("[data-testid=import-status]");
  function set(name, value) {
    var el = job.querySelector("[data-count=" + name + "]");
    if (el) {
      el.textContent = Number(value).toLocaleString("en-US");
    }
  }
  function poll() {
    fetch(job.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("status " + r.status);
        }
        return r.json();
      })
      .then(function (p) {
        bar.max = Math.max(p.total, 1);
        bar.value = p.processed;
        bar.textContent = Number(p.processed).toLocaleString("en-US") + " of " + Number(p.total).toLocaleString("en-US");
        ["processed", "applied", "unchanged", "refused"].forEach(function (k) { set(k, p[k]); });
        if (p.status === "running") {
          setTimeout(poll, 500);
        } else {
          status.textContent = p.status === "done" ? "Import finished" : "Import stopped";
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
