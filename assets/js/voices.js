// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
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
  });
})();
