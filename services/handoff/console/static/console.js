// Progressive enhancement only: every page reads and every form posts without this file.
(function () {
  "use strict";

  // The reason list follows the chosen outcome: SQL reasons for SQL, not-SQL reasons otherwise.
  function syncReasons(form) {
    var picked = form.querySelector("input[name=outcome]:checked");
    var select = form.querySelector("select[name=reason]");
    if (!picked || !select) return;
    select.querySelectorAll("optgroup").forEach(function (group) {
      var fits = (group.dataset.outcomes || "").split(" ").indexOf(picked.value) >= 0;
      group.disabled = !fits;
      group.hidden = !fits;
    });
    var chosen = select.selectedOptions[0];
    if (chosen && chosen.parentElement.disabled) select.value = "";
  }

  document.querySelectorAll("form.decide").forEach(function (form) {
    form.addEventListener("change", function (event) {
      if (event.target.name === "outcome") syncReasons(form);
    });
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = "Recording…"; }
    });
  });

  // Keyboard: j/k move between cards, s/x/r choose an outcome and jump to the reason, o opens the lead.
  var cards = Array.prototype.slice.call(document.querySelectorAll("[data-card]"));
  var current = -1;
  function focusCard(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards.forEach(function (card, i) { card.classList.toggle("current", i === current); });
    cards[current].focus();
    cards[current].scrollIntoView({ block: "nearest" });
  }
  var outcomeKeys = { s: "sql", x: "rejected", r: "recycled" };
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (event.ctrlKey || event.metaKey || event.altKey || tag === "input" || tag === "textarea" || tag === "select") return;
    if (event.key === "j") { focusCard(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusCard(current - 1); event.preventDefault(); }
    else if (current >= 0 && event.key === "o") { window.location.href = cards[current].dataset.lead; }
    else if (current >= 0 && outcomeKeys[event.key]) {
      var form = cards[current].querySelector("form.decide");
      if (!form) return;
      var radio = form.querySelector("input[name=outcome][value=" + outcomeKeys[event.key] + "]");
      radio.checked = true;
      syncReasons(form);
      form.querySelector("select[name=reason]").focus();
      event.preventDefault();
    }
  });
})();
