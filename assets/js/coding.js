// Coding pages: selecting words in an answer or in interview notes fills in that source's coding
// form (the words, and their first and last character counted from 1), and coding the passage (or
// taking a code off) updates that source in place, without reloading the page, so the coder keeps
// their place. Without this script the same form takes the words typed or a range of characters, and
// each press loads the page again.
(function () {
  "use strict";

  // Characters, not UTF-16 units, as the server counts them; the coding numbers shown in the text
  // ([1], [2]) are not part of it.
  function length(text) {
    return Array.from(text).length;
  }

  function textNodes(root) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        return n.parentElement.closest(".coded__refs") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      }
    });
    var nodes = [];
    while (walker.nextNode()) {
      nodes.push(walker.currentNode);
    }
    return nodes;
  }

  function charactersBefore(nodes, node, offset) {
    var count = 0;
    for (var i = 0; i < nodes.length; i += 1) {
      if (nodes[i] === node) {
        return count + length(nodes[i].data.slice(0, offset));
      }
      count += length(nodes[i].data);
    }
    return null;
  }

  function fill(source) {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) {
      return;
    }
    var range = selection.getRangeAt(0);
    if (!source.contains(range.startContainer) || !source.contains(range.endContainer)) {
      return;
    }
    var nodes = textNodes(source);
    var start = charactersBefore(nodes, range.startContainer, range.startOffset);
    var end = charactersBefore(nodes, range.endContainer, range.endOffset);
    var section = source.closest(".source");
    var form = section && section.querySelector("[data-coding-form]");
    if (!form || start === null || end === null || end <= start) {
      return;
    }
    var whole = Array.from(nodes.map(function (n) { return n.data; }).join(""));
    form.querySelector("[data-passage]").value = whole.slice(start, end).join("");
    form.querySelector("[data-from]").value = String(start + 1);
    form.querySelector("[data-to]").value = String(end);
    var field = form.querySelector("input[name=field][value=" + source.getAttribute("data-field") + "]");
    if (field) {
      field.checked = true;
    }
    var details = form.closest("details");
    if (details) {
      details.open = true;
    }
    var status = section.querySelector("[data-selection-status]");
    if (status) {
      status.textContent = "Selected: characters " + (start + 1) + " to " + end + ". Choose codes and what it describes, then Code the passage.";
    }
  }

  // Sends a form of one source and puts that source, as the page now shows it, in its place: with the
  // page's message (done, or what to correct) beside it. Anything unexpected (signed out, offline)
  // falls back to sending the form the ordinary way, so nothing typed is lost.
  function sendInPlace(form, section) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    window.fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "Accept": "text/html" }
    }).then(function (response) {
      return response.text().then(function (html) {
        return { status: response.status, html: html };
      });
    }).then(function (result) {
      var page = new DOMParser().parseFromString(result.html, "text/html");
      var fresh = page.getElementById(section.id);
      if ((result.status !== 200 && result.status !== 422) || !fresh) {
        throw new Error("not the coding page");
      }
      var message = page.querySelector("main .nhsuk-notification-banner");
      if (message) {
        fresh.insertBefore(message, fresh.firstChild);
      }
      var summary = page.querySelector("[data-error-summary]");
      var oldSummary = document.querySelector("[data-error-summary]");
      if (oldSummary) {
        oldSummary.remove();
      }
      section.replaceWith(fresh);
      wire(fresh);
      if (summary) {
        var main = document.getElementById("main");
        main.insertBefore(summary, main.firstChild);
        summary.focus();
      } else if (message) {
        message.setAttribute("tabindex", "-1");
        message.focus();
      }
    }).catch(function () {
      HTMLFormElement.prototype.submit.call(form);
    });
  }

  function wire(root) {
    root.querySelectorAll("[data-source-text]").forEach(function (source) {
      source.addEventListener("mouseup", function () { fill(source); });
      source.addEventListener("keyup", function () { fill(source); });
    });
    if (!window.fetch || !window.DOMParser) {
      return;
    }
    var sections = root.matches && root.matches(".source") ? [root] : root.querySelectorAll(".source");
    Array.prototype.forEach.call(sections, function (section) {
      section.querySelectorAll("form[method=post]").forEach(function (form) {
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          sendInPlace(form, section);
        });
      });
    });
  }

  wire(document);
})();
