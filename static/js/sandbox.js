// The sandbox phone's progressive enhancement. The page works without this
// file (forms post and redirect back, a Refresh link reloads); with it the
// open chat updates itself: every second it polls the chat's messages.json,
// moves ticks forward in place, brings in new bubbles as the server renders
// them, marks the chat read while it is on screen, and sends replies and
// button taps without reloading. It never builds markup from message text:
// new bubbles are taken from the server's own (escaped) page.
(function () {
  "use strict";

  document.documentElement.classList.add("sb-js");

  var POLL_MS = 1000;

  function visible() {
    return document.visibilityState === "visible";
  }

  // Times are rendered in UTC; show them in the reader's own time.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      el.title = d.toLocaleString();
    });
  }
  localizeTimes(document);

  // The chat list: bring in new chats and unread counts every few seconds,
  // unless the reader is on one of its links.
  var list = document.querySelector("[data-testid=chat-list]");
  if (list) {
    setInterval(function () {
      if (!visible() || list.contains(document.activeElement)) return;
      fetch("/sandbox", { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" })
        .then(function (res) {
          if (!res.ok) throw new Error("list " + res.status);
          return res.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("[data-testid=chat-list]");
          if (!fresh) return;
          var node = document.importNode(fresh, true);
          localizeTimes(node);
          if (node.innerHTML === list.innerHTML || list.contains(document.activeElement)) return;
          list.replaceWith(node);
          list = node;
          var empty = document.querySelector(".sb-list > .sb-empty");
          if (empty && node.children.length > 0) empty.remove();
        })
        .catch(function () {});
    }, 3 * POLL_MS);
  }

  var screen = document.querySelector("[data-sandbox-chat]");
  if (!screen) return;

  var pageURL = screen.getAttribute("data-url");
  var pollURL = screen.getAttribute("data-poll-url");
  var readURL = screen.getAttribute("data-read-url");
  var log = document.getElementById("chat-log");
  var errorBox = document.getElementById("sb-form-error");
  var reply = document.getElementById("reply-text");
  var polling = false;
  var reading = false;

  function bubbleByID(id) {
    var found = null;
    log.querySelectorAll("[data-testid=bubble]").forEach(function (el) {
      if (el.getAttribute("data-id") === id) found = el;
    });
    return found;
  }

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
    if (reply) {
      if (message) {
        reply.setAttribute("aria-invalid", "true");
        reply.setAttribute("aria-describedby", "sb-form-error");
      } else {
        reply.removeAttribute("aria-invalid");
        reply.removeAttribute("aria-describedby");
      }
    }
  }

  // Opening the chat reads it, as on a phone: only while it is on screen.
  function markRead() {
    if (reading || !visible()) return;
    reading = true;
    fetch(readURL, { method: "POST", headers: { Accept: "application/json" }, credentials: "same-origin" })
      .catch(function () {})
      .then(function () {
        reading = false;
      });
  }

  function updateStatus(el, m) {
    if (el.getAttribute("data-status") === m.status) return;
    el.setAttribute("data-status", m.status);
    var tick = el.querySelector("[data-tick]");
    if (tick) tick.textContent = m.tick;
    var label = el.querySelector("[data-status-label]");
    if (label) label.textContent = m.status_label;
  }

  // New bubbles come from the server's rendering of the chat, so they look
  // exactly like the ones already there.
  function fetchNewBubbles() {
    return fetch(pageURL, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok) throw new Error("chat " + res.status);
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var added = false;
        doc.querySelectorAll("#chat-log [data-testid=bubble]").forEach(function (el) {
          if (bubbleByID(el.getAttribute("data-id"))) return;
          var node = document.importNode(el, true);
          node.setAttribute("data-new", "");
          localizeTimes(node);
          log.appendChild(node);
          added = true;
        });
        if (added) {
          var empty = log.querySelector("[data-empty]");
          if (empty) empty.remove();
        }
      });
  }

  function poll() {
    if (polling || !visible()) return Promise.resolve();
    polling = true;
    return fetch(pollURL, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok) throw new Error("poll " + res.status);
        return res.json();
      })
      .then(function (data) {
        var missing = false;
        data.messages.forEach(function (m) {
          var el = bubbleByID(m.id);
          if (el) updateStatus(el, m);
          else missing = true;
        });
        if (data.unread > 0) markRead();
        if (missing) return fetchNewBubbles();
      })
      .catch(function () {})
      .then(function () {
        polling = false;
      });
  }

  // Replies and taps: post in the background, keep the focus where it is.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-sb-async")) return;
    event.preventDefault();
    if (form.getAttribute("data-submitting")) return;
    form.setAttribute("data-submitting", "1");
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (res) {
        return res.json().then(function (data) {
          if (!res.ok) {
            showError((data && data.error && data.error.message) || "That did not work. Try again.");
            return;
          }
          showError("");
          if (form.contains(reply)) {
            reply.value = "";
            reply.focus();
          }
          return poll();
        });
      })
      .catch(function () {
        showError("The sandbox did not answer. Try again.");
      })
      .then(function () {
        form.removeAttribute("data-submitting");
      });
  });

  // Enter sends, Shift+Enter starts a new line, as in WhatsApp Web.
  if (reply) {
    reply.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
      event.preventDefault();
      if (reply.form.requestSubmit) reply.form.requestSubmit();
      else reply.form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (visible()) poll();
  });
  setInterval(poll, POLL_MS);
  poll();
})();
