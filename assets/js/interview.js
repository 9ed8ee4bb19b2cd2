// The live guide's autosave. Progressive enhancement: without this file every question has a Save
// button and moving between sections saves. With it, each keystroke is first kept in this browser's
// storage, then sent a few seconds after typing stops (and when leaving a question); if the network
// is down the notes stay here and go when it returns. Saves name the revision they started from, so a
// note changed on another device comes back as a conflict showing both texts, never overwritten.
(function () {
  "use strict";

  var TYPING_PAUSE_MS = 2500;
  var RETRY_MS = 3000;

  function draftPrefix(interviewId) {
    return "voices-interview-" + interviewId + "-q";
  }

  // Question ids with a draft kept on this device and not on this page.
  function waitingElsewhere(storage, interviewId, here) {
    var ids = [];
    if (!storage) { return ids; }
    var prefix = draftPrefix(interviewId);
    for (var i = 0; i < storage.length; i++) {
      var key = storage.key(i);
      if (key && key.indexOf(prefix) === 0) {
        var id = key.substring(prefix.length);
        if (!here[id]) { ids.push(id); }
      }
    }
    return ids;
  }

  // Sends one kept draft as it is; resolves to the HTTP status (0 when offline). A draft the server
  // took is forgotten; one changed elsewhere waits for its section to be opened.
  function putDraft(api, csrf, storage, key, id) {
    var draft;
    try { draft = JSON.parse(storage.getItem(key)); } catch (e) { draft = null; }
    if (!draft) { return Promise.resolve(200); }
    return window.fetch(api + "/notes/" + id, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify({ notes: draft.notes, answer: draft.answer, status: draft.status, revision: draft.revision })
    }).then(function (response) {
      if (response.ok) { storage.removeItem(key); }
      return response.status;
    }, function () { return 0; });
  }

  // voices.js (loaded first on every page) says whether this device keeps text.
  var localStore = window.Voices.localStore;

  // The close page: notes still kept on this device are sent before the interview is completed,
  // and the page says so while any wait.
  document.addEventListener("DOMContentLoaded", function () {
    var closing = document.querySelector("[data-unsent-drafts]");
    var storage = localStore();
    if (!closing || !storage || !window.fetch) { return; }
    var interviewId = closing.getAttribute("data-interview");
    var api = closing.getAttribute("data-api");
    var csrf = closing.getAttribute("data-csrf");
    function check() {
      var waiting = waitingElsewhere(storage, interviewId, {});
      closing.hidden = waiting.length === 0;
      return waiting;
    }
    var waiting = check();
    Promise.all(waiting.map(function (id) {
      return putDraft(api, csrf, storage, draftPrefix(interviewId) + id, id);
    })).then(check);
  });

  // The page keeps the sticky bar's height (as it is now: it wraps on narrower windows and grows
  // with its status line) clear when it scrolls to a focused control, so focus never goes under it.
  document.addEventListener("DOMContentLoaded", function () {
    var bar = document.querySelector(".guide__bar");
    if (!bar || !window.getComputedStyle) { return; }
    function keepClear() {
      var sticky = window.getComputedStyle(bar).position === "sticky";
      document.documentElement.style.scrollPaddingTop = sticky ? (bar.offsetHeight + 16) + "px" : "";
    }
    keepClear();
    window.addEventListener("resize", keepClear);
    if (window.ResizeObserver) { new window.ResizeObserver(keepClear).observe(bar); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var guide = document.querySelector("[data-guide]");
    var form = document.querySelector("form[data-autosave]");
    if (!guide || !form || !window.fetch || !window.JSON) {
      return;
    }
    var api = guide.getAttribute("data-api");
    var interviewId = guide.getAttribute("data-interview");
    var running = guide.getAttribute("data-status") === "in_progress";
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var bar = guide.querySelector("[data-save-status]");
    var storage = localStore();
    var questions = {};
    var current = null;
    var offline = false;

    function draftKey(id) {
      return draftPrefix(interviewId) + id;
    }

    // The server's time of a save ("2026-11-26T14:03:21.123456", UTC), as the pages show it.
    function savedAt(stamp) {
      var time = String(stamp || "").split("T")[1] || "";
      return "Saved at " + time.substring(0, 8) + " (UTC)";
    }

    function say(text) {
      if (bar) {
        bar.textContent = text;
      }
    }

    // ---- One question ----

    function Question(section) {
      var q = this;
      q.id = section.getAttribute("data-question");
      q.section = section;
      q.notes = section.querySelector("[data-notes]");
      q.revision = section.querySelector("[data-revision]");
      q.elapsed = section.querySelector("[data-elapsed]");
      q.saved = section.querySelector("[data-saved]");
      q.timer = null;
      q.sending = false;
      q.again = false;
      q.conflicted = false;
    }

    Question.prototype.values = function () {
      var q = this;
      var answers = [];
      var status = "";
      var inputs = q.section.querySelectorAll("input[name='answer-" + q.id + "'], input[name='status-" + q.id + "']");
      for (var i = 0; i < inputs.length; i++) {
        var input = inputs[i];
        var isAnswer = input.name === "answer-" + q.id;
        if (input.type === "text" && isAnswer) {
          if (input.value) { answers.push(input.value); }
        } else if (input.checked) {
          if (isAnswer) {
            if (input.value) { answers.push(input.value); }
          } else {
            status = input.value;
          }
        }
      }
      return { notes: q.notes.value, answer: answers.join("\n"), status: status };
    };

    Question.prototype.put = function (values) {
      var q = this;
      q.notes.value = values.notes;
      var chosen = values.answer ? values.answer.split("\n") : [];
      var inputs = q.section.querySelectorAll("input[name='answer-" + q.id + "'], input[name='status-" + q.id + "']");
      for (var i = 0; i < inputs.length; i++) {
        var input = inputs[i];
        if (input.name === "answer-" + q.id) {
          if (input.type === "text") {
            input.value = values.answer;
          } else {
            input.checked = input.value ? chosen.indexOf(input.value) >= 0 : chosen.length === 0;
          }
        } else {
          input.checked = input.value === (values.status || "");
        }
      }
    };

    // Every change is kept in this browser at once, with the revision it was typed against.
    Question.prototype.keep = function () {
      if (!storage) { return; }
      var draft = this.values();
      draft.revision = parseInt(this.revision.value, 10) || 0;
      draft.at = Date.now();
      try {
        storage.setItem(draftKey(this.id), JSON.stringify(draft));
      } catch (e) {
        say("This device's storage is full: save with the Save button.");
      }
    };

    Question.prototype.draft = function () {
      if (!storage) { return null; }
      try {
        return JSON.parse(storage.getItem(draftKey(this.id)));
      } catch (e) {
        return null;
      }
    };

    Question.prototype.changed = function () {
      var q = this;
      q.keep();
      q.mark("Not saved yet", "waiting");
      window.clearTimeout(q.timer);
      q.timer = window.setTimeout(function () { q.send(); }, TYPING_PAUSE_MS);
    };

    // The question's own line, and its state for anything that needs to tell (saved, saving,
    // waiting, offline, conflict, refused).
    Question.prototype.mark = function (text, state) {
      if (this.saved) {
        this.saved.textContent = text;
        this.saved.setAttribute("data-state", state);
      }
    };

    Question.prototype.send = function () {
      var q = this;
      window.clearTimeout(q.timer);
      if (q.conflicted) { return; }
      if (q.sending) { q.again = true; return; }
      var sent = q.values();
      var body = {
        notes: sent.notes,
        answer: sent.answer,
        status: sent.status,
        elapsed_seconds: parseInt(q.elapsed.value, 10) || 0,
        revision: parseInt(q.revision.value, 10) || 0
      };
      q.sending = true;
      q.mark("Saving…", "saving");
      window.fetch(api + "/notes/" + q.id, {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (json) {
          return { status: response.status, json: json };
        }, function () {
          return { status: response.status, json: null };
        });
      }).then(function (result) {
        q.sending = false;
        if (result.status === 200) {
          q.revision.value = result.json.revision;
          var now = values_equal(q.values(), sent);
          if (now && storage) { storage.removeItem(draftKey(q.id)); }
          if (!now) { q.keep(); }
          var text = savedAt(result.json.saved_at);
          q.mark(text, "saved");
          // Routine saves change only the question's own line; the status bar (read out by screen
          // readers) speaks when something needs attention, or has stopped needing it.
          if (offline) {
            back_online();
            say("Back online: your notes are saved. " + text + ".");
          }
          if (!now || q.again) { q.again = false; q.send(); }
        } else if (result.status === 409) {
          q.conflict(result.json);
        } else if (result.status === 422) {
          var message = result.json && result.json.error && result.json.error.fields && result.json.error.fields.notes;
          q.mark("Not saved: " + (message || "check the notes"), "refused");
          say("A note was not saved: " + (message || "check the notes"));
        } else if (result.status === 401 || result.status === 403) {
          q.mark("Not saved: kept on this device", "refused");
          say("You are signed out or this interview cannot take notes now. Your notes are kept on this device: sign in again, then reload this page.");
        } else if (result.status < 500) {
          q.mark("Not saved: error " + result.status + ". Kept on this device", "refused");
          say("A note could not be saved (error " + result.status + "). It is kept on this device: reload the page to try again.");
        } else {
          // The server is restarting or overloaded: the same as a dropped connection.
          went_offline(q);
        }
      }, function () {
        q.sending = false;
        went_offline(q);
      });
    };

    Question.prototype.conflict = function (json) {
      var q = this;
      q.conflicted = true;
      q.mark("Not saved: changed elsewhere", "conflict");
      say("The notes for a question were changed on another device. Both versions are shown: choose what to keep.");
      var old = q.section.querySelector("[data-conflict-js]");
      if (old) { old.parentNode.removeChild(old); }
      var box = document.createElement("div");
      box.className = "conflict";
      box.setAttribute("data-conflict-js", "");
      box.setAttribute("role", "alert");
      var heading = document.createElement("h3");
      heading.textContent = "These notes were changed elsewhere";
      var explain = document.createElement("p");
      explain.textContent = "Someone saved other notes for this question on another device or in another tab. Their version is below; yours is in the box. Nothing is lost until you choose.";
      var theirs = document.createElement("blockquote");
      theirs.className = "note-text";
      theirs.setAttribute("data-theirs", "");
      theirs.textContent = json.stored.notes;
      var keep = document.createElement("button");
      keep.type = "button";
      keep.className = "nhsuk-button nhsuk-button--secondary";
      keep.textContent = "Keep mine (replaces theirs)";
      var take = document.createElement("button");
      take.type = "button";
      take.className = "nhsuk-button nhsuk-button--secondary";
      take.textContent = "Use theirs (replaces mine)";
      var group = document.createElement("div");
      group.className = "nhsuk-button-group";
      group.appendChild(keep);
      group.appendChild(take);
      box.appendChild(heading);
      box.appendChild(explain);
      box.appendChild(theirs);
      box.appendChild(group);
      q.notes.parentNode.parentNode.insertBefore(box, q.notes.parentNode);
      function settle(values) {
        q.revision.value = json.stored.revision;
        if (values) { q.put(values); }
        q.conflicted = false;
        box.parentNode.removeChild(box);
        q.keep();
        q.send();
        q.notes.focus();
      }
      keep.addEventListener("click", function () { settle(null); });
      take.addEventListener("click", function () {
        settle({ notes: json.stored.notes, answer: json.stored.answer, status: json.stored.status || "" });
      });
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    };

    function values_equal(a, b) {
      return a.notes === b.notes && a.answer === b.answer && a.status === b.status;
    }

    // ---- The connection ----

    var retry = null;

    // The bar speaks once when the connection goes, not at every retry.
    function went_offline(q) {
      if (q) { q.mark("Offline: not yet saved", "offline"); }
      if (!offline) {
        say("Offline: not yet saved. Your notes are kept on this device and are sent when the connection returns.");
      }
      offline = true;
      guide.classList.add("guide--offline");
      if (!retry) {
        retry = window.setInterval(send_waiting, RETRY_MS);
      }
    }

    function back_online() {
      if (!offline) { return; }
      offline = false;
      guide.classList.remove("guide--offline");
      if (retry) { window.clearInterval(retry); retry = null; }
      send_waiting();
    }

    function send_waiting() {
      Object.keys(questions).forEach(function (id) {
        var q = questions[id];
        if (q.draft()) { q.send(); }
      });
      sendOtherSections();
      sendMoments();
    }

    // Drafts of questions in other sections (typed there, then the page was left offline) go too.
    function sendOtherSections() {
      waitingElsewhere(storage, interviewId, questions).forEach(function (id) {
        putDraft(api, csrf, storage, draftKey(id), id).then(function (status) {
          if (status === 409) {
            say("Notes for a question in another section were changed elsewhere: open that section to choose what to keep.");
          } else if (status === 0 || status >= 500) {
            went_offline(null);
          } else if (offline && status === 200) {
            back_online();
          }
        });
      });
    }

    window.addEventListener("online", send_waiting);

    // ---- Quick notes and quotes ----

    var momentsKey = "voices-interview-" + interviewId + "-moments";

    function waitingMoments() {
      if (!storage) { return []; }
      try { return JSON.parse(storage.getItem(momentsKey)) || []; } catch (e) { return []; }
    }

    function keepMoments(list) {
      if (storage) { storage.setItem(momentsKey, JSON.stringify(list)); }
    }

    function randomKey() {
      var bytes = new Uint8Array(12);
      window.crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }

    function addMoment(kind, body, questionId) {
      var list = waitingMoments();
      list.push({
        kind: kind, body: body, question_id: questionId ? parseInt(questionId, 10) : null,
        elapsed_seconds: seconds, client_key: randomKey()
      });
      keepMoments(list);
      showMoment(kind, body);
      sendMoments();
    }

    function showMoment(kind, body) {
      var panel = document.getElementById("moments");
      var list = panel.querySelector("[data-moments]");
      if (!list) {
        list = document.createElement("ul");
        list.className = "moments";
        list.setAttribute("data-moments", "");
        panel.appendChild(list);
      }
      var item = document.createElement("li");
      var time = document.createElement("span");
      time.className = "moment__time";
      time.textContent = "Minute " + Math.floor(seconds / 60);
      var label = document.createElement("strong");
      label.textContent = (kind === "quote" ? "Quote" : "Note") + ":";
      item.appendChild(time);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(label);
      item.appendChild(document.createTextNode(" " + body));
      list.appendChild(item);
    }

    var sendingMoments = false;

    function sendMoments() {
      var list = waitingMoments();
      if (sendingMoments || list.length === 0) { return; }
      sendingMoments = true;
      var next = list[0];
      window.fetch(api + "/moments", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
        body: JSON.stringify(next)
      }).then(function (response) {
        sendingMoments = false;
        if (response.ok || response.status === 422) {
          // Sent (or refused for good, e.g. too long: it stays on screen for the interviewer to copy).
          keepMoments(waitingMoments().filter(function (m) { return m.client_key !== next.client_key; }));
          say(response.ok ? "Quick note saved." : "A quick note was not saved: it is too long.");
          if (offline) { back_online(); }
          sendMoments();
        } else if (response.status >= 500) {
          went_offline(null);
        }
      }, function () {
        sendingMoments = false;
        went_offline(null);
      });
    }

    var momentForm = document.querySelector("form[data-moment-form]");
    if (momentForm) {
      momentForm.addEventListener("submit", function (event) {
        var body = momentForm.querySelector("[name=body]");
        var kind = momentForm.querySelector("[name=kind]:checked");
        var about = momentForm.querySelector("[name=question_id]");
        if (!body.value.trim()) { return; }
        event.preventDefault();
        addMoment(kind ? kind.value : "note", body.value.trim(), about.value);
        body.value = "";
        body.focus();
      });
    }

    // ---- Wiring each question ----

    var sections = form.querySelectorAll("[data-question]");
    for (var i = 0; i < sections.length; i++) {
      (function (section) {
        var q = new Question(section);
        questions[q.id] = q;
        section.addEventListener("input", function () { q.changed(); });
        section.addEventListener("change", function () { q.changed(); });
        section.addEventListener("focusin", function () { current = q; });
        section.addEventListener("focusout", function (event) {
          if (!section.contains(event.relatedTarget) && q.draft()) { q.send(); }
        });
        // Notes typed here earlier and never confirmed by the server come back, and are sent.
        var draft = q.draft();
        if (draft) {
          if (values_equal(draft, q.values())) {
            storage.removeItem(draftKey(q.id));
          } else {
            q.put(draft);
            q.revision.value = draft.revision;
            q.mark("Brought back from this device: saving…", "saving");
            q.send();
          }
        }
      })(sections[i]);
    }

    // Moving between sections posts the form; offline that would fail, so stay and say why.
    form.addEventListener("submit", function (event) {
      if (offline || navigator.onLine === false) {
        event.preventDefault();
        send_waiting();
        say("Offline: stay on this page. Your notes are kept on this device and are sent when the connection returns.");
        return;
      }
      Object.keys(questions).forEach(function (id) {
        window.clearTimeout(questions[id].timer);
      });
    });

    // ---- The clock and time per question ----

    var seconds = parseInt(guide.getAttribute("data-running-seconds"), 10) || 0;
    var clock = guide.querySelector("[data-clock]");

    function words(total) {
      var minutes = Math.floor(total / 60);
      if (minutes < 1) { return "under a minute"; }
      if (minutes < 60) { return minutes + " min"; }
      var rest = minutes % 60;
      return Math.floor(minutes / 60) + " h " + (rest < 10 ? "0" : "") + rest + " min";
    }

    if (running) {
      window.setInterval(function () {
        seconds += 1;
        if (clock && seconds % 60 === 0) { clock.textContent = words(seconds); }
        if (current) {
          current.elapsed.value = (parseInt(current.elapsed.value, 10) || 0) + 1;
        }
      }, 1000);
    }

    // ---- Keyboard shortcuts (Alt + Shift + a letter) ----

    var order = Object.keys(questions).map(function (id) { return questions[id]; });

    document.addEventListener("keydown", function (event) {
      if (!event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey) { return; }
      var letter = (event.code || "").replace("Key", "");
      var at = current ? order.indexOf(current) : -1;
      if (letter === "S" && current) {
        current.send();
      } else if (letter === "N" && order.length) {
        order[Math.min(at + 1, order.length - 1)].notes.focus();
      } else if (letter === "P" && order.length) {
        order[Math.max(at - 1, 0)].notes.focus();
      } else if (letter === "Q") {
        var body = document.getElementById("moment-body");
        if (body) { body.focus(); }
      } else if (letter === "F" && current) {
        var notes = current.notes;
        var chosen = notes.value.substring(notes.selectionStart, notes.selectionEnd).trim();
        if (chosen) {
          addMoment("quote", chosen, current.id);
        } else {
          say("Select the participant's words in the notes first, then flag them.");
        }
      } else {
        return;
      }
      event.preventDefault();
    });

    send_waiting();
  });
})();
