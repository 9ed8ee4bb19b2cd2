// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // The browser's own storage where this device may keep text (not in a private window that refuses
  // it, nor with storage turned off): what the answer pages and the interview guide keep unsent text in.
  window.Voices = {
    localStore: function () {
      try {
        var probe = "voices-probe";
        window.localStorage.setItem(probe, probe);
        window.localStorage.removeItem(probe);
        return window.localStorage;
      } catch (e) {
        return null;
      }
    }
  };

  // Two minutes before a signed-in session would end for inactivity, say so and offer to stay signed in
  // (WCAG 2.2.1, timing adjustable). Without this script nothing is lost either: a form sent after the
  // session ended is kept, and sent after signing in again.
  function idleWarning(minutes) {
    var total = minutes * 60 * 1000;
    var warnAfter = minutes > 4 ? total - 2 * 60 * 1000 : total / 2;
    var timer = null;
    var notice = null;

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(warn, warnAfter);
    }

    function say(text, withButton) {
      if (!notice) {
        notice = document.createElement("div");
        notice.className = "nhsuk-warning-callout idle-warning";
        notice.setAttribute("role", "alert");
        notice.id = "idle-warning";
        var main = document.getElementById("main");
        main.insertBefore(notice, main.firstChild);
      }
      notice.textContent = "";
      var p = document.createElement("p");
      p.textContent = text;
      notice.appendChild(p);
      if (withButton) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "nhsuk-button";
        button.textContent = "Stay signed in";
        button.addEventListener("click", stay);
        notice.appendChild(button);
      }
    }

    function warn() {
      var left = Math.round((total - warnAfter) / 60000);
      say("You will be signed out in " + (left > 1 ? left + " minutes" : "about a minute") +
        " because nothing has been sent for a while. Anything you have typed stays on this page.", true);
    }

    function stay() {
      window.fetch("/api/v1/me", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (response.ok) {
            notice.remove();
            notice = null;
            schedule();
          } else {
            say("You have been signed out. What you send from this page is kept: you will be asked to sign in, then to send it.", false);
          }
        })
        .catch(function () {
          say("Voices could not be reached. Check your connection, then try again.", true);
        });
    }

    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary so screen-reader and keyboard users hear what went wrong first.
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
    // Select a freshly shown token so it can be copied at once.
    var token = document.getElementById("new-token");
    if (token) {
      token.addEventListener("focus", function () { token.select(); });
    }
    var idle = parseFloat(document.body.getAttribute("data-idle-minutes") || "0");
    if (idle > 0 && window.fetch) {
      idleWarning(idle);
    }
  });
})();
