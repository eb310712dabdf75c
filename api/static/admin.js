// The analysts' page: plain DOM, no external assets. Data is always set as text.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let csrf = null;
  let topics = [];
  let types = [];
  let cards = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  function say(text, isError) {
    const status = $("status");
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  async function api(method, path, body, raw) {
    const headers = {};
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    const response = await fetch("/api/admin" + path, { method, headers, body: payload, credentials: "same-origin" });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && path !== "/login") { showLogin(); }
    if (!response.ok) {
      const err = new Error(data.message || ("Erro " + response.status));
      err.details = data.details || [];
      throw err;
    }
    return data;
  }

  function fail(err) {
    say(err.message + (err.details && err.details.length ? " " + err.details.join(" | ") : ""), true);
  }

  function showLogin() {
    $("login").hidden = false; $("app").hidden = true; $("who").hidden = true; csrf = null;
  }

  async function showApp(user) {
    $("login").hidden = true; $("app").hidden = false; $("who").hidden = false;
    $("user").textContent = user;
    const meta = await api("GET", "/qa/topics");
    topics = meta.topicos; types = meta.tipos; cards = meta.cartoes || [];
    for (const select of document.querySelectorAll("select.topics")) {
      const keep = select.querySelector("option[value='']");
      select.replaceChildren(...(keep ? [keep] : []),
        ...topics.map((t) => el("option", { value: t.topico }, t.titulo)));
    }
    for (const select of document.querySelectorAll("select.types")) {
      select.replaceChildren(...types.map((t) => el("option", { value: t }, t)));
    }
    fillCards();
    await Promise.all([loadQueue(), loadQa(), loadTrainings(), loadAnalytics(), loadAudit()]);
  }

  // The cards of the chosen topic, those of the chosen type first: the new question joins one.
  function fillCards() {
    const topic = $("qa-topic").value, type = $("qa-type").value;
    const own = cards.filter((c) => c.topico === topic)
      .sort((a, b) => (a.tipo === type ? 0 : 1) - (b.tipo === type ? 0 : 1));
    $("qa-card").replaceChildren(...own.map((c) => el("option", { value: c.cartao }, c.tipo + " — " + c.pergunta)));
  }

  // --- Queue -------------------------------------------------------------------------
  async function loadQueue() {
    const groups = await api("GET", "/queue");
    const list = $("queue-list");
    list.replaceChildren();
    if (!groups.length) list.append(el("li", {}, "Nenhuma pergunta na fila."));
    for (const g of groups) {
      const topic = el("select", { "aria-label": "Tópico para: " + g.pergunta },
        ...topics.map((t) => el("option", { value: t.topico }, t.titulo)));
      const type = el("select", { "aria-label": "Tipo de pergunta" },
        ...types.map((t) => el("option", { value: t }, t)));
      const text = el("input", { "aria-label": "Texto da pergunta", value: g.pergunta });
      const reason = el("input", { "aria-label": "Motivo do descarte", placeholder: "motivo do descarte" });
      const channels = Object.entries(g.canais).map(([k, v]) => k + ": " + v).join(", ");
      list.append(el("li", { "data-group": g.id },
        el("p", {}, el("strong", {}, g.pergunta), " ", el("span", { class: "meta" }, "(" + g.quantidade + "×)")),
        el("p", { class: "meta" }, "Canais: " + channels + " · de " + new Date(g.primeira).toLocaleString("pt-BR") +
          " a " + new Date(g.ultima).toLocaleString("pt-BR")),
        el("details", {}, el("summary", {}, "Contexto e variantes"),
          el("ul", {}, ...g.contexto.map((c) => el("li", {}, c.who + ": " + c.text))),
          el("ul", {}, ...g.variantes.map((v) => el("li", {}, v)))),
        text, topic, type,
        el("button", { type: "button", onclick: () => toQa(g.id, text.value, topic.value, type.value) }, "Virar pergunta"),
        reason,
        el("button", { type: "button", class: "secondary", onclick: () => dismiss(g.id, reason.value) }, "Descartar")));
    }
  }

  async function toQa(id, pergunta, topico, tipo) {
    try {
      await api("POST", "/queue/" + id + "/qa", { pergunta, topico, tipo });
      say("Pergunta adicionada ao conhecimento. Treine para a Iara aprender.");
      await Promise.all([loadQueue(), loadQa(), loadAudit()]);
    } catch (err) { fail(err); }
  }

  async function dismiss(id, motivo) {
    try {
      await api("POST", "/queue/" + id + "/dismiss", { motivo });
      say("Grupo descartado.");
      await Promise.all([loadQueue(), loadAudit()]);
    } catch (err) { fail(err); }
  }

  // --- Q&A ---------------------------------------------------------------------------
  async function loadQa() {
    const params = new URLSearchParams({ q: $("qa-q").value });
    if ($("qa-topic-filter").value) params.set("topico", $("qa-topic-filter").value);
    const pairs = await api("GET", "/qa?" + params);
    $("qa-count").textContent = pairs.length;
    $("qa-rows").replaceChildren(...pairs.slice(0, 200).map((p) => el("tr", {},
      el("td", {}, p.pergunta), el("td", {}, p.topico), el("td", {}, p.cartao || p.tipo),
      el("td", {},
        el("button", { type: "button", onclick: () => editPair(p) }, "Editar"), " ",
        el("button", { type: "button", class: "secondary", onclick: () => deletePair(p) }, "Excluir")))));
  }

  async function editPair(p) {
    const text = window.prompt("Novo texto da pergunta:", p.pergunta);
    if (text === null) return;
    try { await api("PUT", "/qa/" + p.id, { pergunta: text }); say("Pergunta editada."); await Promise.all([loadQa(), loadAudit()]); }
    catch (err) { fail(err); }
  }

  async function deletePair(p) {
    if (!window.confirm("Excluir a pergunta \"" + p.pergunta + "\"?")) return;
    try { await api("DELETE", "/qa/" + p.id); say("Pergunta excluída."); await Promise.all([loadQa(), loadAudit()]); }
    catch (err) { fail(err); }
  }

  // --- Training ----------------------------------------------------------------------
  let polling = null;
  const STATUS = { running: "em andamento", deployed: "publicado", rejected: "recusado", failed: "falhou",
    rolled_back: "revertido", unchanged: "sem mudanças" };
  async function loadTrainings() {
    const runs = await api("GET", "/trainings");
    $("train-rows").replaceChildren(...runs.map((r) => el("tr", {},
      el("td", {}, r.id), el("td", {}, new Date(r.inicio).toLocaleString("pt-BR")), el("td", {}, r.usuario),
      el("td", {}, (STATUS[r.status] || r.status) + (r.status === "running" ? " · " + r.etapa : "")),
      el("td", {}, Object.entries(r.metricas || {}).filter(([k]) => !k.endsWith("_ms") && k !== "questions")
        .map(([k, v]) => k + " " + v).join("; ")),
      el("td", {}, r.decisao))));
    const status = await api("GET", "/train/status");
    const run = status.treino;
    $("train-progress").textContent = (status.em_andamento && run ? "Em andamento: " + run.etapa + ". " : "") +
      "Versão no ar: " + status.atual + (status.anterior ? " (anterior: " + status.anterior + ")" : "");
    // The steps of the running (or last) training, each with how long it took.
    const log = run ? run.log : [];
    $("train-steps").replaceChildren(...log.map((entry, i) => {
      const next = i + 1 < log.length ? new Date(log[i + 1].at) : (run.fim ? new Date(run.fim) : null);
      const secs = next ? Math.round((next - new Date(entry.at)) / 1000) : null;
      return el("li", {}, entry.step + (secs === null ? " …" : " (" + secs + " s)"));
    }));
    if (status.em_andamento && !polling) polling = setInterval(loadTrainings, 3000);
    if (!status.em_andamento && polling) { clearInterval(polling); polling = null; }
  }

  // --- Analytics ---------------------------------------------------------------------
  function bars(target, rows, label, value) {
    const max = Math.max(1, ...rows.map(value));
    target.replaceChildren(...rows.map((r) => el("div", { class: "bar" },
      el("span", {}, label(r)),
      el("span", { class: "fill", style: "width:" + Math.round(100 * value(r) / max) + "%", role: "img",
        "aria-label": label(r) + ": " + value(r) }),
      el("span", {}, value(r)))));
    if (!rows.length) target.append(el("p", {}, "Sem dados no período."));
  }

  const ASPECT_LABELS = {
    o_que_e: "O que é", por_que_pendente: "Por que está pendente",
    como_regularizar: "Como regularizar", prazo: "Prazo", base_legal: "Base legal",
    sistema_responsavel: "Sistema e responsável",
  };

  async function loadAnalytics() {
    const a = await api("GET", "/analytics");
    const pct = (v) => (v === null || v === undefined ? "—" : Math.round(v * 100) + "%");
    const t = a.totais;
    $("an-totals").replaceChildren(...[["Conversas", t.conversas], ["Mensagens", t.mensagens],
      ["Taxa de fallback", pct(t.taxa_fallback)], ["Respostas úteis", pct(t.taxa_util)],
      ["Sem resposta", t.sem_resposta]].map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
    bars($("an-days"), a.por_dia, (r) => r.dia, (r) => r.mensagens);
    bars($("an-items"), a.itens_mais_perguntados, (r) => "Item " + r.item, (r) => r.mensagens);
    bars($("an-aspects"), a.aspectos_mais_perguntados, (r) => ASPECT_LABELS[r.aspecto] || r.aspecto,
      (r) => r.mensagens);
    $("an-channels").replaceChildren(...a.por_canal.map((c) => el("tr", {},
      el("td", {}, c.canal), el("td", {}, c.conversas), el("td", {}, c.mensagens),
      el("td", {}, pct(c.taxa_fallback)), el("td", {}, pct(c.taxa_util)))));
  }

  // --- Audit -------------------------------------------------------------------------
  async function loadAudit() {
    const entries = await api("GET", "/audit?limit=50");
    $("audit-rows").replaceChildren(...entries.map((e) => el("tr", {},
      el("td", {}, e.id), el("td", {}, new Date(e.at).toLocaleString("pt-BR")), el("td", {}, e.actor),
      el("td", {}, e.summary),
      el("td", {}, e.files.length && !e.reverted_by
        ? el("button", { type: "button", class: "secondary", onclick: () => revert(e.id) }, "Desfazer")
        : (e.reverted_by ? "desfeita (#" + e.reverted_by + ")" : "")))));
  }

  async function revert(id) {
    try { await api("POST", "/audit/" + id + "/revert"); say("Alteração desfeita."); await Promise.all([loadQa(), loadAudit()]); }
    catch (err) { fail(err); }
  }

  // --- Wiring ------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", async () => {
    $("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const data = await api("POST", "/login", { username: $("username").value, password: $("password").value });
        csrf = data.csrf; $("password").value = ""; say("");
        await showApp(data.usuario);
      } catch (err) { fail(err); }
    });
    $("logout").addEventListener("click", async () => { await api("POST", "/logout").catch(() => {}); showLogin(); });
    $("queue-reload").addEventListener("click", () => loadQueue().catch(fail));
    $("qa-search").addEventListener("submit", (event) => { event.preventDefault(); loadQa().catch(fail); });
    $("qa-topic").addEventListener("change", fillCards);
    $("qa-type").addEventListener("change", fillCards);
    $("qa-add").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", "/qa", { pergunta: $("qa-text").value, topico: $("qa-topic").value, tipo: $("qa-type").value,
                                   cartao: $("qa-card").value || null });
        $("qa-text").value = ""; say("Pergunta adicionada.");
        await Promise.all([loadQa(), loadAudit()]);
      } catch (err) { fail(err); }
    });
    $("qa-import").addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = $("qa-file").files[0];
      if (!file) return;
      try {
        const report = await api("POST", "/qa/import?filename=" + encodeURIComponent(file.name), undefined, await file.arrayBuffer());
        $("qa-import-report").replaceChildren(
          el("p", {}, report.aceitas + " de " + report.linhas + " linha(s) importada(s)."),
          el("ul", { class: "errors" }, ...report.erros.map((e) => el("li", {}, "Linha " + e.linha + ": " + e.erros.join(" ")))));
        await Promise.all([loadQa(), loadAudit()]);
      } catch (err) { fail(err); }
    });
    $("train-start").addEventListener("click", async () => {
      try { await api("POST", "/train"); say("Treino iniciado."); await loadTrainings(); }
      catch (err) { fail(err); }
    });
    $("rollback").addEventListener("click", async () => {
      if (!window.confirm("Voltar ao modelo e índice anteriores?")) return;
      // Loading the previous model in the engine takes some seconds; say so and keep the
      // training controls from a second click meanwhile.
      const controls = [$("rollback"), $("train-start")];
      controls.forEach((b) => { b.disabled = true; });
      say("Voltando à versão anterior… carregando o modelo, isso leva alguns segundos.");
      try { const r = await api("POST", "/rollback"); say("Versão no ar: " + r.atual); await loadTrainings(); }
      catch (err) { fail(err); }
      finally { controls.forEach((b) => { b.disabled = false; }); }
    });
    try {
      const me = await api("GET", "/me");
      csrf = me.csrf;
      await showApp(me.usuario);
    } catch (err) { showLogin(); }
  });
})();
