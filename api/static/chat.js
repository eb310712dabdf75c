// Iara web chat: plain HTTP to POST /api/chat, history kept in sessionStorage.
// Safety rule: every text that comes from the bot or the user is inserted with
// textContent / createTextNode, never innerHTML, so HTML in a message shows as text.
(function () {
  "use strict";

  var API_URL = "/api/chat";
  var HISTORY_KEY = "iara.history";
  var SENDER_KEY = "iara.sender";
  var MAX_HISTORY = 200;
  var TIMEOUT_MS = 60000;
  var FEEDBACK_PREFIX = "/avaliar";
  var FEEDBACK_LABELS = {
    util: "Esta resposta foi útil",
    nao_util: "Esta resposta não foi útil"
  };
  var FORMAT_LABELS = {
    video: "vídeo", "vídeo": "vídeo", podcast: "podcast", cartilha: "cartilha", pdf: "PDF",
    entrevista: "entrevista", artigo: "artigo"
  };
  // Thumbs drawn as SVG: the bot's emoji titles ("👍 Útil") show as boxes where the
  // computer has no emoji font. Path: Material Icons "thumb_up" (Apache 2.0).
  var THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-" +
    ".44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 " +
    "1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  var URL_RE = /\bhttps?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/g;

  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var sendButton = document.getElementById("send");
  var typing = document.getElementById("typing");
  var status = document.getElementById("status");
  var restartButton = document.getElementById("restart");
  var closeButton = document.getElementById("close");

  var embedded = new URLSearchParams(window.location.search).get("embed") === "1";
  var coarsePointer = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  // --- Storage (sessionStorage may be unavailable, e.g. in a locked-down iframe) ---------
  var memory = {};
  var storage = {
    get: function (key) {
      try { return window.sessionStorage.getItem(key); } catch (e) { return memory[key] || null; }
    },
    set: function (key, value) {
      try { window.sessionStorage.setItem(key, value); } catch (e) { memory[key] = value; }
    }
  };

  function newSender() {
    var id = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
    storage.set(SENDER_KEY, id);
    return id;
  }

  function loadHistory() {
    try {
      var saved = JSON.parse(storage.get(HISTORY_KEY) || "[]");
      return Array.isArray(saved) ? saved.filter(function (e) {
        return e && typeof e === "object" && typeof e.text === "string";
      }) : [];
    } catch (e) { return []; }
  }

  var sender = storage.get(SENDER_KEY) || newSender();
  var history = loadHistory();
  var nodes = new Map();   // history entry -> its element
  var pending = null;      // the request in flight: {generation, controller}
  var generation = 0;      // bumped by "Recomeçar": late answers of the old conversation are dropped

  function save() {
    storage.set(HISTORY_KEY, JSON.stringify(history.slice(-MAX_HISTORY)));
  }

  function announce(text) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  // --- Cleaning what the API sends (unknown keys are ignored) -----------------------------
  function str(value) { return typeof value === "string" ? value : ""; }

  function cleanButtons(raw) {
    if (!Array.isArray(raw)) { return []; }
    return raw.filter(function (b) { return b && str(b.title) && str(b.payload); })
      .map(function (b) { return { title: b.title, payload: b.payload }; });
  }

  function cleanSources(raw) {
    if (!Array.isArray(raw)) { return []; }
    return raw.filter(function (s) { return s && str(s.title); }).map(function (s) {
      return { title: s.title, url: str(s.url) || null, format: str(s.format) || null };
    });
  }

  function cleanLink(raw) {
    if (!raw || !str(raw.title) || !str(raw.url)) { return null; }
    return { title: raw.title, url: raw.url };
  }

  function safeUrl(url) {
    if (!url) { return null; }
    try {
      var parsed = new URL(url, window.location.href);
      return (parsed.protocol === "http:" || parsed.protocol === "https:") ? parsed.href : null;
    } catch (e) { return null; }
  }

  function isFeedback(button) { return button.payload.indexOf(FEEDBACK_PREFIX) === 0; }

  function feedbackValue(payload) {
    var match = /"avaliacao"\s*:\s*"([a-z_]+)"/.exec(payload);
    return match ? match[1] : "";
  }

  // --- Rendering ------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function link(href, text) {
    var a = el("a", null, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(el("span", "visually-hidden", " (abre em nova aba)"));
    return a;
  }

  function thumb(down) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "thumb");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", THUMB);
    path.setAttribute("fill", "currentColor");
    if (down) { path.setAttribute("transform", "rotate(180 12 12)"); }
    svg.appendChild(path);
    return svg;
  }

  // Plain text with its web addresses turned into links; never parsed as HTML.
  function appendText(parent, text) {
    var last = 0;
    text.replace(URL_RE, function (match, offset) {
      var href = safeUrl(match);
      if (!href) { return match; }
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(link(href, match));
      last = offset + match.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderSources(sources) {
    var box = el("div", "sources");
    var list = el("ul");
    box.appendChild(el("p", "sources-title", "Fontes"));
    sources.forEach(function (source) {
      var item = el("li");
      var href = safeUrl(source.url);
      item.appendChild(href ? link(href, source.title) : el("span", null, source.title));
      var format = FORMAT_LABELS[(source.format || "").toLowerCase()];
      if (format) { item.appendChild(el("span", "source-format", format)); }
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function renderQuickReplies(buttons) {
    var group = el("div", "quick-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Sugestões");
    buttons.forEach(function (b) {
      var button = el("button", "quick-reply", b.title);
      button.type = "button";
      button.addEventListener("click", function () { send(b.payload, { shown: b.title }); });
      group.appendChild(button);
    });
    return group;
  }

  function renderFeedback(entry, buttons) {
    var group = el("div", "feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Avaliação desta resposta");
    group.appendChild(el("span", "feedback-question", "Esta resposta ajudou?"));
    var thanks = el("span", "feedback-thanks", "Obrigada pela avaliação!");
    buttons.forEach(function (b) {
      var value = feedbackValue(b.payload);
      var button = el("button", "feedback-button");
      var words = b.title.replace(/^[^\p{L}\p{N}]+/u, "");
      if (FEEDBACK_LABELS[value] && words) {
        button.appendChild(thumb(value !== "util"));
        button.appendChild(document.createTextNode(words));
      } else {
        button.textContent = b.title;
      }
      button.type = "button";
      button.setAttribute("aria-label", FEEDBACK_LABELS[value] || b.title);
      button.dataset.payload = b.payload;
      if (entry.rated) {
        button.disabled = true;
        button.setAttribute("aria-pressed", String(entry.rated === b.payload));
      }
      button.addEventListener("click", function () { rate(entry, b.payload); });
      group.appendChild(button);
    });
    thanks.hidden = !entry.rated;
    group.appendChild(thanks);
    return group;
  }

  function render(entry) {
    var mine = entry.who === "me";
    var box = el("div", "msg " + (mine ? "me" : "bot") + (entry.error ? " error" : ""));
    box.appendChild(el("span", "visually-hidden", mine ? "Você: " : "Iara: "));
    var text = el("div", "msg-text");
    appendText(text, entry.text);
    box.appendChild(text);
    var buttons = entry.buttons || [];
    var explain = entry.link && safeUrl(entry.link.url);
    if (explain) {
      var more = link(explain, entry.link.title);
      more.className = "explain";
      box.appendChild(more);
    }
    if (entry.sources && entry.sources.length) { box.appendChild(renderSources(entry.sources)); }
    var replies = buttons.filter(function (b) { return !isFeedback(b); });
    var feedback = buttons.filter(isFeedback);
    if (replies.length) { box.appendChild(renderQuickReplies(replies)); }
    if (feedback.length && (entry.rated || !entry.expired)) {
      box.appendChild(renderFeedback(entry, feedback));
    }
    if (entry.retry) {
      var retry = el("button", "quick-reply", "Tentar de novo");
      retry.type = "button";
      retry.addEventListener("click", function () {
        // The question is already on screen: send it again without repeating it.
        if (!pending) { removeEntry(entry); send(entry.retry.payload, { silent: true }); }
      });
      box.appendChild(retry);
    }
    log.appendChild(box);
    nodes.set(entry, box);
    return box;
  }

  function add(entry) {
    history.push(entry);
    if (history.length > MAX_HISTORY) {
      var dropped = history.splice(0, history.length - MAX_HISTORY);
      dropped.forEach(function (old) { var n = nodes.get(old); if (n) { n.remove(); } });
    }
    save();
    return render(entry);
  }

  function removeEntry(entry) {
    var node = nodes.get(entry);
    if (node) { node.remove(); }
    history = history.filter(function (e) { return e !== entry; });
    save();
  }

  function rerender(entry) {
    var old = nodes.get(entry);
    var fresh = render(entry);
    if (old) { log.replaceChild(fresh, old); }
  }

  // Feedback is about the latest answer: once the gestor moves on, unrated groups go away.
  function expireFeedback() {
    history.forEach(function (entry) {
      if (entry.who === "bot" && !entry.rated && !entry.expired &&
          (entry.buttons || []).some(isFeedback)) {
        entry.expired = true;
        rerender(entry);
      }
    });
  }

  function rate(entry, payload) {
    if (entry.rated || pending) { return; }
    entry.rated = payload;
    save();
    var node = nodes.get(entry);
    var group = node && node.querySelector(".feedback");
    if (group) {
      group.querySelectorAll("button").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-pressed", String(button.dataset.payload === payload));
      });
      group.querySelector(".feedback-thanks").hidden = false;
    }
    announce("Avaliação enviada. Obrigada!");
    send(payload, { silent: true, feedback: true });
  }

  function scrollToLatest(firstNew) {
    if (firstNew && firstNew.classList.contains("bot")) {
      // Long answers are read from their start, not from their end.
      log.scrollTop = Math.max(0, firstNew.offsetTop - 12);
    } else {
      log.scrollTop = log.scrollHeight;
    }
  }

  // --- Talking to the API ---------------------------------------------------------------
  function setBusy(on) {
    typing.hidden = !on;
    sendButton.disabled = on;
    if (on) { log.scrollTop = log.scrollHeight; }
  }

  // A failed question can be sent again (a rating is not worth a retry button).
  function errorEntry(text, options, retryable) {
    var retry = retryable && !options.feedback ? { payload: options.payload } : null;
    return { who: "bot", error: true, text: text, retry: retry };
  }

  function send(payload, options) {
    options = options || {};
    if (!payload || !payload.trim() || pending) { return false; }
    options.payload = payload;
    if (!options.feedback) { expireFeedback(); }
    if (!options.silent) { scrollToLatest(add({ who: "me", text: options.shown || payload })); }
    var controller = window.AbortController ? new AbortController() : null;
    var request = { generation: generation, controller: controller };
    var timer = window.setTimeout(function () { if (controller) { controller.abort(); } },
                                  TIMEOUT_MS);
    pending = request;
    setBusy(true);
    fetch(API_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: payload }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { ok: response.ok, status: response.status, body: body || {} };
      });
    }).then(function (reply) {
      if (request.generation !== generation) { return; }
      if (!reply.ok) {
        var text = str(reply.body.message) || "A Iara não conseguiu responder agora. Tente de novo.";
        scrollToLatest(add(errorEntry(text, options, reply.status >= 500)));
        return;
      }
      var messages = Array.isArray(reply.body.messages) ? reply.body.messages : [];
      var first = null;
      messages.forEach(function (m) {
        if (!m || !str(m.text)) { return; }
        var node = add({ who: "bot", text: m.text, buttons: cleanButtons(m.buttons),
                         sources: cleanSources(m.sources), link: cleanLink(m.link) });
        first = first || node;
      });
      if (!first && !options.feedback) {
        first = add({ who: "bot", text: "Não tenho uma resposta para isso. Pode reformular a pergunta?" });
      }
      scrollToLatest(first);
    }).catch(function () {
      if (request.generation !== generation) { return; }
      scrollToLatest(add(errorEntry(
        "Não consegui falar com a Iara. Verifique sua conexão e tente de novo.", options, true)));
    }).then(function () {
      window.clearTimeout(timer);
      if (pending !== request) { return; }
      pending = null;
      setBusy(false);
      if (options.fromComposer || (!coarsePointer && document.activeElement === document.body)) {
        input.focus({ preventScroll: true });
      }
    });
    return true;
  }

  function greet() { send("oi", { silent: true }); }

  // --- Wiring -----------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { input.focus(); return; }
    if (send(text, { fromComposer: true })) { input.value = ""; }
  });

  restartButton.addEventListener("click", function () {
    generation += 1;
    if (pending && pending.controller) { pending.controller.abort(); }
    pending = null;
    setBusy(false);
    history = [];
    nodes = new Map();
    save();
    log.textContent = "";
    sender = newSender();
    announce("Conversa recomeçada.");
    greet();
    input.focus({ preventScroll: true });
  });

  if (embedded) {
    // Inside the widget's iframe: the close button and Escape ask the portal page to close.
    document.documentElement.classList.add("embed");
    closeButton.hidden = false;
    var close = function () { window.parent.postMessage({ type: "iara:close" }, "*"); };
    closeButton.addEventListener("click", close);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { close(); }
    });
    window.addEventListener("message", function (event) {
      if (event.source === window.parent && event.data && event.data.type === "iara:focus") {
        input.focus({ preventScroll: true });
      }
    });
  }

  log.setAttribute("aria-busy", "true");  // restoring: do not read the whole history aloud
  history.forEach(render);
  log.setAttribute("aria-busy", "false");
  log.scrollTop = log.scrollHeight;
  if (!history.length) { greet(); }
  if (!embedded && !coarsePointer) { input.focus({ preventScroll: true }); }
})();
