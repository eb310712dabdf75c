// Iara web chat: plain HTTP to POST /api/chat. Every text from the bot or the user is
// inserted with textContent, so HTML in a message is shown as text, never run.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var typing = document.getElementById("typing");
  var restart = document.getElementById("restart");
  var HISTORY_KEY = "iara.history";
  var SENDER_KEY = "iara.sender";

  function newSender() {
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
    sessionStorage.setItem(SENDER_KEY, id);
    return id;
  }
  var sender = sessionStorage.getItem(SENDER_KEY) || newSender();
  var history = [];
  try { history = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || "[]"); } catch (e) { history = []; }

  function save() { sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history.slice(-200))); }

  function safeUrl(url) {
    if (!url) { return null; }
    try {
      var parsed = new URL(url, window.location.href);
      return (parsed.protocol === "http:" || parsed.protocol === "https:") ? parsed.href : null;
    } catch (e) { return null; }
  }

  function render(entry) {
    var box = document.createElement("div");
    box.className = "msg " + entry.who + (entry.error ? " error" : "");
    var text = document.createElement("div");
    text.textContent = entry.text;
    box.appendChild(text);
    if (entry.sources && entry.sources.length) {
      var src = document.createElement("div");
      src.className = "sources";
      var title = document.createElement("strong");
      title.textContent = "Fontes";
      src.appendChild(title);
      var list = document.createElement("ul");
      entry.sources.forEach(function (s) {
        var li = document.createElement("li");
        var href = safeUrl(s.url);
        var node = href ? document.createElement("a") : document.createElement("span");
        node.textContent = s.title;
        if (href) { node.href = href; node.target = "_blank"; node.rel = "noopener noreferrer"; }
        li.appendChild(node);
        list.appendChild(li);
      });
      src.appendChild(list);
      box.appendChild(src);
    }
    if (entry.buttons && entry.buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      entry.buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", function () { send(b.payload, b.title); });
        row.appendChild(btn);
      });
      box.appendChild(row);
    }
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }

  function add(entry) { history.push(entry); save(); render(entry); }

  function busy(on) {
    typing.hidden = !on;
    form.querySelector("button").disabled = on;
  }

  function send(message, shown) {
    if (!message || !message.trim()) { return; }
    add({ who: "me", text: shown || message });
    busy(true);
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: message })
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (r) {
      if (!r.ok) { add({ who: "bot", error: true, text: r.body.message || "Erro ao enviar." }); return; }
      if (!r.body.messages.length) {
        add({ who: "bot", text: "Não tenho uma resposta para isso. Pode reformular?" });
      }
      r.body.messages.forEach(function (m) {
        add({ who: "bot", text: m.text, buttons: m.buttons, sources: m.sources });
      });
    }).catch(function () {
      add({ who: "bot", error: true, text: "Não consegui falar com a Iara. Verifique sua conexão e tente de novo." });
    }).then(function () { busy(false); input.focus(); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
  });

  restart.addEventListener("click", function () {
    history = []; save(); log.textContent = ""; sender = newSender();
    send("oi", "Olá");
  });

  history.forEach(render);
  if (!history.length) { send("oi", "Olá"); }
})();
