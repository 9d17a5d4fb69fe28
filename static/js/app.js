// optin's progressive enhancement. Every page works without this file; it
// only smooths the edges: jumping from the error summary to a field, guarding
// against a double submit, and letting an embedding page size its iframe.
(function () {
  "use strict";

  // Error summary links: focus the field and bring its label into view
  // (a plain fragment link scrolls the input to the very top, hiding the label).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    if (!link) return;
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    var box = field.closest(".field") || field;
    box.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });

  // Double submit: ignore a second press while the first one is on its way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-repeatable")) return; // stays on the page (a download)
    if (form.getAttribute("data-submitting")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "1");
    var button = form.querySelector("[type=submit]");
    if (button) button.setAttribute("aria-disabled", "true");
  });
  // Coming back through the browser's history must leave the form usable.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      var button = form.querySelector("[type=submit]");
      if (button) button.removeAttribute("aria-disabled");
    });
  });

  // Embedded in an iframe: tell the parent page our height, as
  // {type: "optin:height", height: <px>}, so it can size the frame.
  if (document.body.hasAttribute("data-embed") && window.parent !== window) {
    var last = 0;
    var send = function () {
      var height = Math.ceil(document.documentElement.scrollHeight);
      if (height === last) return;
      last = height;
      window.parent.postMessage({ type: "optin:height", height: height }, "*");
    };
    if (window.ResizeObserver) {
      new ResizeObserver(send).observe(document.body);
    }
    window.addEventListener("load", send);
    send();
  }
})();
