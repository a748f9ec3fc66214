// questlog web: small progressive enhancement. Every form works without this file; with it,
// verdict and note forms post in the background and swap in the card the server sends back, and
// the keyboard drives triage: j/k move, a accept, r reject, c clear, n note, / search.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const cards = () => Array.from(document.querySelectorAll("ol.cards > li.card"));
  let currentId = null;

  function toast(message) {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function select(card) {
    document.querySelectorAll("li.card.current").forEach((c) => c.classList.remove("current"));
    if (!card) return;
    card.classList.add("current");
    currentId = card.dataset.id;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function current() {
    return currentId ? document.getElementById("e-" + currentId) : null;
  }

  function move(step) {
    const all = cards();
    if (!all.length) return;
    const at = all.indexOf(current());
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    select(all[next]);
  }

  async function submit(form, submitter) {
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    const card = form.closest("li.card");
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" },
      });
    } catch (err) {
      toast("Not saved: the server did not answer (" + err + ").");
      return;
    }
    const body = await response.text();
    if (!response.ok) {
      toast(body || ("Not saved: " + response.status));
      return;
    }
    if (card) {
      const wasCurrent = card.classList.contains("current");
      const holder = document.createElement("ol");
      holder.innerHTML = body.trim();
      const fresh = holder.firstElementChild;
      card.replaceWith(fresh);
      if (wasCurrent) select(fresh);
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form[data-enhance]")) return;
    event.preventDefault();
    submit(form, event.submitter);
  });

  document.addEventListener("click", (event) => {
    const cite = event.target.closest("button.cite");
    if (cite) {
      const editor = document.querySelector("details.conclusion-editor");
      const text = document.getElementById("conclusion-text");
      if (!text) return;
      editor.open = true;
      const token = "[@" + cite.dataset.cite + "]";
      const at = text.selectionStart ?? text.value.length;
      text.value = text.value.slice(0, at) + token + text.value.slice(text.selectionEnd ?? at);
      text.focus();
      text.setSelectionRange(at + token.length, at + token.length);
      return;
    }
    const card = event.target.closest("li.card");
    if (card && !event.target.closest("a, button, textarea, input, summary")) select(card);
  });

  function decide(value) {
    const card = current();
    if (!card) return;
    const button = card.querySelector('form.verdict button[value="' + value + '"]');
    if (button && !button.disabled) submit(button.form, button);
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Escape" && target.matches("textarea, input")) {
      target.blur();
      const card = target.closest("li.card");
      if (card) select(card);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.matches("textarea, input, select") || target.isContentEditable) return;
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      a: () => decide("accept"),
      r: () => decide("reject"),
      c: () => decide("clear"),
      n: () => {
        const card = current();
        if (!card) return;
        const details = card.querySelector("details.note-editor");
        if (!details) return;
        details.open = true;
        details.querySelector("textarea").focus();
      },
      "/": () => {
        const search = document.querySelector('form.filters input[name="q"]');
        if (search) search.focus();
      },
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  // a card named in the address (after a plain form post, or a citation followed) starts selected
  document.addEventListener("DOMContentLoaded", () => {
    if (location.hash.startsWith("#e-")) select(document.getElementById(location.hash.slice(1)));
  });
})();
