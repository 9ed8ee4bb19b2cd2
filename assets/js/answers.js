// Answers typed on a question page, kept on this device until the page is saved. Progressive
// enhancement: without this file every button on the page (Need support?, Pause, Back) saves the page
// first. With it, what is typed is also kept in this browser as it is typed, so a lost connection, a
// closed tab or a crash before saving loses nothing: the page puts it back on return and says so.
// A kept copy belongs to the response as it was last saved: once any page is saved it no longer
// applies and is removed (at the next page shown), and none is kept for more than a week.
(function () {
  "use strict";

  var PREFIX = "voices-answers-";
  var WEEK_MS = 7 * 24 * 60 * 60 * 1000;
  var NOT_ANSWERS = { csrf_token: true, go: true, "return": true };

  // voices.js (loaded first on every page) says whether this device keeps text.
  var localStore = window.Voices.localStore;

  function read(storage, key) {
    try {
      return JSON.parse(storage.getItem(key));
    } catch (e) {
      return null;
    }
  }

  // Every answer field on the form by name: the text typed, or the choices ticked (none is an
  // answer too: unticking is kept).
  function valuesOf(form) {
    var values = {};
    for (var i = 0; i < form.elements.length; i++) {
      var field = form.elements[i];
      if (!field.name || NOT_ANSWERS[field.name] || field.type === "hidden" || field.type === "submit") {
        continue;
      }
      if (!values[field.name]) { values[field.name] = []; }
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked) { values[field.name].push(field.value); }
      } else {
        values[field.name].push(field.value);
      }
    }
    return values;
  }

  function put(form, values) {
    for (var i = 0; i < form.elements.length; i++) {
      var field = form.elements[i];
      var kept = values[field.name];
      if (!kept || NOT_ANSWERS[field.name]) { continue; }
      if (field.type === "radio" || field.type === "checkbox") {
        field.checked = kept.indexOf(field.value) >= 0;
      } else if (field.type !== "hidden" && field.type !== "submit") {
        field.value = kept[0] || "";
      }
    }
  }

  // Copies made before the response's last save, and any older than a week, are removed.
  function forgetStale(storage, response, base) {
    var own = PREFIX + response + "-";
    for (var i = storage.length - 1; i >= 0; i--) {
      var key = storage.key(i);
      if (!key || key.indexOf(PREFIX) !== 0) { continue; }
      var kept = read(storage, key);
      var stale = !kept || !(Date.now() - kept.at < WEEK_MS) || (key.indexOf(own) === 0 && kept.base !== base);
      if (stale) { storage.removeItem(key); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var storage = localStore();
    var holder = document.querySelector("[data-drafts]");
    if (!storage || !holder || !window.JSON) { return; }
    var response = holder.getAttribute("data-drafts");
    var base = holder.getAttribute("data-drafts-base");
    forgetStale(storage, response, base);

    var form = document.querySelector("form[data-draft-page]");
    if (!form) { return; }
    var key = PREFIX + response + "-" + form.getAttribute("data-draft-page");
    var onPage = JSON.stringify(valuesOf(form));
    var kept = read(storage, key);
    // A page shown again with its problems already shows what was just sent.
    if (kept && !form.hasAttribute("data-draft-fresh") && JSON.stringify(kept.values) !== onPage) {
      put(form, kept.values);
      var notice = document.querySelector("[data-draft-restored]");
      if (notice) { notice.hidden = false; }
    }

    function keep() {
      try {
        storage.setItem(key, JSON.stringify({ base: base, at: Date.now(), values: valuesOf(form) }));
      } catch (e) {
        // Storage full or refused: the page still saves with its buttons.
      }
    }
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
  });
})();
