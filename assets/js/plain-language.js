// Live plain-language figures while the co-design group types. Without JavaScript the same figures are
// shown when the page loads and after each save; this only refreshes them sooner.
(function () {
  "use strict";

  function item(list, parts) {
    var li = document.createElement("li");
    parts.forEach(function (part) {
      if (typeof part === "string") {
        li.appendChild(document.createTextNode(part));
      } else {
        var element = document.createElement(part.tag);
        element.textContent = part.text;
        if (part.className) { element.className = part.className; }
        li.appendChild(element);
      }
    });
    list.appendChild(li);
  }

  function show(list, analysis) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!analysis.word_count) {
      item(list, ["Nothing written yet."]);
      return;
    }
    var age = analysis.reading_age >= 21 ? " or older" : "";
    item(list, ["Reading age about ", { tag: "strong", text: String(analysis.reading_age) }, age]);
    item(list, ["Reading ease " + analysis.reading_ease + " out of 100 (" + analysis.band + ")"]);
    var longest = analysis.longest_sentence ? analysis.longest_sentence.word_count : 0;
    item(list, [analysis.word_count + (analysis.word_count === 1 ? " word" : " words") +
      "; longest sentence " + longest + " words"]);
    if (analysis.passive_hints.length) {
      item(list, ["Passive voice: " + analysis.passive_hints.map(function (h) { return "\u201c" + h.phrase + "\u201d"; }).join(", ") +
        ". Try saying who does what."]);
    }
    if (analysis.jargon.length) {
      var parts = ["Words to avoid: "];
      analysis.jargon.forEach(function (found, index) {
        if (index) { parts.push(", "); }
        parts.push({ tag: "mark", text: found.matched, className: "jargon" });
      });
      item(list, parts);
    }
  }

  function watch(form, panel) {
    var field = document.getElementById(panel.getAttribute("data-plain-panel"));
    var list = panel.querySelector("[data-plain-figures]");
    var token = form.querySelector("input[name=csrf_token]");
    if (!field || !list || !token) { return; }
    var timer = null;
    var last = field.value;
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (field.value === last) { return; }
        last = field.value;
        fetch(form.getAttribute("data-plain-url"), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": token.value },
          body: JSON.stringify({ text: field.value })
        }).then(function (response) {
          return response.ok ? response.json() : null;
        }).then(function (report) {
          if (report) { show(list, report.analysis); }
        }).catch(function () { /* the figures simply refresh at the next save */ });
      }, 600);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-plain-url]"), function (form) {
      Array.prototype.forEach.call(form.querySelectorAll("[data-plain-panel]"), function (panel) {
        watch(form, panel);
      });
    });
  });
})();
