// Keyboard use: number keys pick outcomes, Ctrl+Enter saves, Alt+N asks for the next
// customer, Alt+S starts working from My work, "/" goes to search, "?" shows the help.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function helpDialog() { return document.getElementById("keyboard-help"); }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-help-open]");
    if (opener && helpDialog()) { helpDialog().showModal(); }
  });

  document.addEventListener("keydown", function (event) {
    // A dialog on top (the SMS dialog) owns the keyboard: Ctrl+Enter sends its form.
    var dialog = document.querySelector("dialog[open]");
    if (dialog) {
      var own = dialog.querySelector("form:not([method=dialog])");
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && own) {
        event.preventDefault();
        own.requestSubmit();
      }
      return;
    }
    var form = document.getElementById("outcome-form");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.altKey && (event.key === "n" || event.key === "N" || event.code === "KeyN")) {
      var next = document.querySelector("[data-key=next]");
      if (next) { event.preventDefault(); next.click(); }
      return;
    }
    if (event.altKey && (event.key === "s" || event.key === "S" || event.code === "KeyS")) {
      var start = document.querySelector("[data-key=start]");
      if (start) { event.preventDefault(); start.click(); }
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "?" && helpDialog()) {
      event.preventDefault();
      helpDialog().showModal();
      return;
    }
    if (event.key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (/^[1-9]$/.test(event.key) && form) {
      var radio = form.querySelector('input[name=outcome][data-number="' + event.key + '"]');
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        radio.focus();
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  });

  // A checkbox marked data-check-all="form-id" ticks every row box of that form.
  document.addEventListener("change", function (event) {
    var form = event.target.getAttribute && event.target.getAttribute("data-check-all");
    if (form) {
      document.querySelectorAll('input[name=customer][form="' + form + '"]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
  });

  // A select marked data-autosubmit submits its form when changed (the language picker).
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]")) {
      event.target.form.requestSubmit();
    }
  });

  // Once the screen hears that the customer is no longer held, saving is pointless.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.querySelector("[data-lease-lost]")) {
      document.querySelectorAll("#outcome-form button[type=submit]").forEach(function (b) {
        b.disabled = true;
      });
    }
  });

  // The SMS dialog opens when its content arrives; the cursor goes where the agent was, or
  // to the message.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "sms-dialog-body") { return; }
    var dialog = document.getElementById("sms-dialog");
    if (!dialog.open) { dialog.showModal(); }
    var from = event.detail.requestConfig && event.detail.requestConfig.elt;
    var field = (from && from.id === "sms-template" && document.getElementById("sms-template")) ||
      dialog.querySelector("#sms-text:not([readonly])") || dialog.querySelector("#sms-template");
    if (field) { field.focus(); }
  });

  // A call that ended unanswered pre-selects the flow's "no answer" outcome, unless the
  // agent chose one already; the agent still saves.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var hint = target && target.id === "call-panel" && document.querySelector("#call-panel [data-prefill-outcome]");
    var form = document.getElementById("outcome-form");
    if (!hint || !form || form.querySelector("input[name=outcome]:checked")) { return; }
    var radio = form.querySelector('input[name=outcome][value="' + hint.dataset.prefillOutcome + '"]');
    if (radio) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  // After the outcome's own fields arrive, put the cursor in the first of them.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "outcome-fields") {
      var first = event.detail.target.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    }
  });
})();

// A page made for printing (the person's access report) has a button that prints it.
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
});
