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
  // The record page: citizen search as the agent types, the classifier's
  // topic proposal, and a submit that shows the reference without a reload.
  // Ctrl+Enter submits from anywhere in the form.
  function recordPage(form) {
    var csrf = form.querySelector("input[name=csrf]").value;
    var search = document.getElementById("citizen-search");
    var results = document.getElementById("citizen-results");
    var picked = document.getElementById("citizen-picked");
    var contactId = document.getElementById("contact-id");
    var text = document.getElementById("record-text");
    var topic = document.getElementById("record-topic");
    var proposed = document.getElementById("topic-proposed");
    var topicTouched = false;
    var items = [], active = -1, timer = null, topicTimer = null;
    function label(c) {
      return [c.display_name, c.phone, c.email, c.postal_address].filter(Boolean).join(" · ");
    }
    function show(list) {
      items = list; active = -1;
      results.innerHTML = "";
      list.forEach(function (c, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = "citizen-option-" + i;
        li.className = "citizen-option";
        li.textContent = label(c);
        li.addEventListener("click", function () { pick(i); });
        results.appendChild(li);
      });
    }
    function highlight(i) {
      active = Math.max(0, Math.min(items.length - 1, i));
      Array.prototype.forEach.call(results.children, function (li, j) {
        li.setAttribute("aria-selected", j === active ? "true" : "false");
      });
      search.setAttribute("aria-activedescendant", "citizen-option-" + active);
    }
    function pick(i) {
      var c = items[i];
      contactId.value = c.id;
      picked.textContent = label(c);
      document.getElementById("citizen-name").value = c.display_name || "";
      document.getElementById("citizen-phone").value = "";
      document.getElementById("citizen-email").value = "";
      document.getElementById("citizen-language").value = c.language === "en" ? "en" : "fr";
      show([]);
      text.focus();
    }
    search.addEventListener("input", function () {
      clearTimeout(timer);
      contactId.value = ""; picked.textContent = "";
      var q = search.value.trim();
      if (q.length < 2) { show([]); return; }
      timer = setTimeout(function () {
        fetch("/agent/contacts/search?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { contacts: [] }; })
          .then(function (d) { if (search.value.trim() === q) show(d.contacts || []); });
      }, 150);
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && items.length) { highlight(active + 1); e.preventDefault(); }
      else if (e.key === "ArrowUp" && items.length) { highlight(active - 1); e.preventDefault(); }
      else if (e.key === "Enter" && active >= 0) { pick(active); e.preventDefault(); }
      else if (e.key === "Enter") {
        // A new citizen: what was typed becomes the phone, the address or the name.
        var q = search.value.trim();
        var field = /@/.test(q) ? "citizen-email" : (/^[+\d][\d\s().-]{6,}$/.test(q) ? "citizen-phone" : "citizen-name");
        if (q) { document.getElementById(field).value = q; picked.textContent = form.dataset.newCitizen; }
        text.focus();
        e.preventDefault();
      }
    });
    topic.addEventListener("change", function () { topicTouched = true; });
    text.addEventListener("input", function () {
      clearTimeout(topicTimer);
      topicTimer = setTimeout(function () {
        var sent = text.value;
        if (!sent.trim()) { proposed.textContent = ""; return; }
        var body = new URLSearchParams({ csrf: csrf, text: sent });
        fetch("/agent/topic-proposal", { method: "POST", body: body, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (d) {
            // A late answer about text that has since changed (or a form
            // already submitted and reset) proposes nothing.
            if (text.value !== sent) return;
            if (!d || !d.topic) { proposed.textContent = ""; return; }
            proposed.textContent = "(" + d.topic + ")";
            if (!topicTouched) topic.value = d.topic;
          });
      }, 300);
    });
    form.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { form.requestSubmit(); e.preventDefault(); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = document.getElementById("record-submit");
      button.disabled = true;
      fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
        .then(function (res) {
          var box = document.getElementById("record-result");
          box.hidden = false;
          if (!res.ok) {
            document.getElementById("record-result-title").textContent = res.d.message || form.dataset.failed;
            document.getElementById("record-reference").textContent = "";
            document.getElementById("record-ack").textContent = (res.d.fields || []).map(function (f) { return f.message; }).join(" ");
            return;
          }
          var d = res.d;
          document.getElementById("record-result-title").textContent = d.reference ? form.dataset.opened : form.dataset.resolved;
          document.getElementById("record-reference").textContent = d.reference || "";
          document.getElementById("record-ack").textContent = d.reference ? (d.acknowledgement === "email" ? form.dataset.ackEmail : form.dataset.ackNone) : "";
          // Ready for the next citizen, with a fresh key.
          clearTimeout(topicTimer);
          form.reset(); contactId.value = ""; picked.textContent = ""; show([]); topicTouched = false; proposed.textContent = "";
          document.getElementById("idempotency-key").value = d.next_key || "";
          search.focus();
        })
        .catch(function () {
          var box = document.getElementById("record-result");
          box.hidden = false;
          document.getElementById("record-result-title").textContent = form.dataset.failed;
        })
        .finally(function () { button.disabled = false; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("record-form");
    if (form) recordPage(form);
  });
})();
