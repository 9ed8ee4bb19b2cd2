// The question form shows only the fields the chosen kind of question uses, and offers the standard
// Likert labels. Progressive enhancement: without this file every field shows, each saying which kinds
// of question it is for, and a Likert scale left without labels is saved with the standard ones.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-likert-default]");
    if (!form) {
      return;
    }
    var parts = form.querySelectorAll("[data-kind-fields]");
    var options = form.querySelector("#options");

    function update() {
      var checked = form.querySelector("input[name=kind]:checked");
      var kind = checked ? checked.value : "";
      Array.prototype.forEach.call(parts, function (part) {
        var kinds = part.getAttribute("data-kind-fields").split(" ");
        part.hidden = kind !== "" && kinds.indexOf(kind) < 0;
      });
      if (kind === "likert" && options && options.value.trim() === "") {
        options.value = form.getAttribute("data-likert-default");
      }
    }

    Array.prototype.forEach.call(form.querySelectorAll("input[name=kind]"), function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  });
})();
