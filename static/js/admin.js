// optin admin console: small progressive enhancements. Every page works
// without it.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#id"> copies the text of that element.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.value !== undefined ? source.value : source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
  // Long form posts (an import's dry run): show that work is going on.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy")) return;
    var note = form.querySelector("[data-busy-note]");
    if (note) note.hidden = false;
    var button = form.querySelector("[type=submit]");
    if (button) button.setAttribute("aria-disabled", "true");
  });
})();
