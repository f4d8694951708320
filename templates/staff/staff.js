// Triage shortcuts and the reveal button of the review page. The pages work
// without this file; it only saves keystrokes.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.thread-row"));
    var current = -1;
    function select(i) {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r) { r.classList.remove("selected"); });
      rows[current].classList.add("selected");
      rows[current].querySelector("a.thread-link").focus();
    }
    document.addEventListener("keydown", function (e) {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "j") { select(current + 1); e.preventDefault(); }
      else if (e.key === "k") { select(current - 1); e.preventDefault(); }
      else if (e.key === "a") { var b = document.getElementById("assign-me"); if (b) { b.click(); e.preventDefault(); } }
      else if (e.key === "r") { var t = document.getElementById("reply-body"); if (t) { t.focus(); e.preventDefault(); } }
    });
    var canned = document.getElementById("canned");
    var reply = document.getElementById("reply-body");
    if (canned && reply) {
      canned.addEventListener("change", function () {
        if (canned.value) { reply.value = canned.value; reply.focus(); }
      });
    }
    var live = document.getElementById("live");
    if (live && window.EventSource) {
      var first = null;
      var source = new EventSource("/agent/events");
      source.addEventListener("inbox", function (e) {
        if (first === null) { first = e.data; return; }
        if (e.data !== first) { live.hidden = false; }
      });
    }
    document.querySelectorAll("button.reveal").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = document.getElementById(button.getAttribute("aria-controls"));
        var shown = text.classList.toggle("blurred") === false;
        text.setAttribute("aria-hidden", shown ? "false" : "true");
        button.setAttribute("aria-expanded", shown ? "true" : "false");
        button.textContent = shown ? button.dataset.hide : button.dataset.show;
      });
    });
  });
})();
