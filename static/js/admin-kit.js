// optin admin console: the entry point kit. admin.js copies with the
// Clipboard API, which browsers offer only on https and localhost; a
// console reached over plain http on another host gets this fallback, and
// every snippet field selects its whole text when focused, so that copying
// by hand takes one keystroke. The page works without it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button || navigator.clipboard) return; // admin.js handles it
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || typeof source.select !== "function") return;
    source.focus();
    source.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    var label = button.textContent;
    button.textContent = ok ? "Copied" : "Selected: press Ctrl+C";
    setTimeout(function () { button.textContent = label; }, 2000);
  });
  document.querySelectorAll(".kit-snippet, .kit-copy input").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
