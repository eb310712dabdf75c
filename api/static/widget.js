// Iara widget for a prefeitura's portal: a corner button that opens the Iara chat.
//
//   <script src="https://<iara-host>/static/widget.js" defer
//           data-label="Dúvidas sobre o CAUC? Fale com a Iara"
//           data-position="right" data-color="#0b5c7e"></script>
//
// The chat itself is Iara's own page (/?embed=1) in an iframe: the portal's CSS and
// scripts cannot touch it, it talks only to its own origin (no CORS needed), and Iara's
// CSP frame-ancestors (setting IARA_ALLOWED_ORIGINS) decides which portals may show it.
// The button and panel live in a shadow root, so the portal's CSS does not reach them.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.IaraWidget) { return; }

  var data = script.dataset;
  var base;
  try { base = new URL(data.iaraUrl || script.src, window.location.href); } catch (e) { return; }
  if (base.protocol !== "https:" && base.protocol !== "http:") { return; }
  var IARA_ORIGIN = base.origin;
  var CHAT_URL = IARA_ORIGIN + "/?embed=1";
  var label = (data.label || "").trim() || "Dúvidas sobre o CAUC? Fale com a Iara";
  var side = data.position === "left" ? "left" : "right";
  var color = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data.color || "") ? data.color : "#0b5c7e";

  var CSS = [
    ":host { all: initial !important; }",
    ".iara { --iara-color: " + color + "; font-family: system-ui, -apple-system, 'Segoe UI',",
    "        Roboto, sans-serif; font-size: 16px; line-height: 1.4; color: #1b1f24; }",
    ".bubble { position: fixed; bottom: 20px; z-index: 2147483000; display: inline-flex;",
    "          align-items: center; gap: 10px; min-height: 56px; max-width: calc(100vw - 40px);",
    "          padding: 0 20px 0 16px; border: 2px solid #fff; border-radius: 28px;",
    "          background: var(--iara-color); color: #fff; font: inherit; font-weight: 600;",
    "          cursor: pointer; box-shadow: 0 4px 18px rgba(0, 0, 0, .28); }",
    ".right .bubble, .right .panel { right: 20px; }",
    ".left .bubble, .left .panel { left: 20px; }",
    ".bubble:hover { filter: brightness(1.1); }",
    ".bubble:focus-visible { outline: 3px solid #1b1f24; outline-offset: 3px;",
    "                        box-shadow: 0 0 0 6px #ffd166; }",
    ".bubble svg { flex: none; width: 26px; height: 26px; }",
    ".bubble .icon-close, .open .bubble .icon-chat { display: none; }",
    ".open .bubble .icon-close { display: block; }",
    ".open .bubble { padding: 0; width: 56px; justify-content: center; }",
    ".open .bubble .label { position: absolute; width: 1px; height: 1px;",
    "          overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    ".panel { position: fixed; bottom: 90px; z-index: 2147483000; width: 400px;",
    "         max-width: calc(100vw - 40px); height: 640px; max-height: calc(100vh - 120px);",
    "         overflow: hidden; border-radius: 14px; background: #f5f7f9;",
    "         box-shadow: 0 10px 40px rgba(0, 0, 0, .3); }",
    ".panel[hidden] { display: none; }",
    "iframe { display: block; width: 100%; height: 100%; border: 0; }",
    "@media (max-width: 560px) {",
    "  .bubble { padding: 0; width: 56px; justify-content: center; }",
    "  .bubble .label { position: absolute; width: 1px; height: 1px; overflow: hidden;",
    "                   clip: rect(0 0 0 0); white-space: nowrap; }",
    "  .panel { inset: 0; width: 100%; max-width: none; height: 100%; max-height: none;",
    "           border-radius: 0; }",
    "  .open .bubble { display: none; }",
    "}"
  ].join("\n");

  var SVG_NS = "http://www.w3.org/2000/svg";
  function icon(className, pathData) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", className);
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function addStyles(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];  // not blocked by a portal's style-src CSP
    } catch (e) {
      var style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
  }

  function mount() {
    // A custom element name: a portal's rules for div, section... do not match it.
    var host = document.createElement("iara-widget");
    var root = host.attachShadow({ mode: "open" });
    addStyles(root);

    var wrapper = document.createElement("div");
    wrapper.className = "iara " + side;

    var panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "iara-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "Iara, assistente do CAUC");
    panel.hidden = true;

    var bubble = document.createElement("button");
    bubble.type = "button";
    bubble.className = "bubble";
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-controls", "iara-panel");
    bubble.appendChild(icon("icon-chat",
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"));
    bubble.appendChild(icon("icon-close",
      "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z"));
    var text = document.createElement("span");
    text.className = "label";
    text.textContent = label;
    bubble.appendChild(text);

    wrapper.appendChild(panel);
    wrapper.appendChild(bubble);
    root.appendChild(wrapper);
    document.body.appendChild(host);

    var frame = null;
    var loaded = false;

    function focusChat() {
      if (!frame || !loaded) { return; }
      frame.focus();
      frame.contentWindow.postMessage({ type: "iara:focus" }, IARA_ORIGIN);
    }

    function open() {
      if (!frame) {
        // Created on first open: a portal page that never opens the chat loads nothing.
        frame = document.createElement("iframe");
        frame.title = "Chat da Iara, assistente do CAUC";
        frame.referrerPolicy = "strict-origin-when-cross-origin";
        frame.addEventListener("load", function () { loaded = true; focusChat(); });
        frame.src = CHAT_URL;
        panel.appendChild(frame);
      }
      panel.hidden = false;
      wrapper.classList.add("open");
      bubble.setAttribute("aria-expanded", "true");
      focusChat();
    }

    function close() {
      if (panel.hidden) { return; }
      panel.hidden = true;
      wrapper.classList.remove("open");
      bubble.setAttribute("aria-expanded", "false");
      bubble.focus();
    }

    bubble.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { close(); }
    });
    window.addEventListener("message", function (event) {
      if (event.origin !== IARA_ORIGIN || !frame || event.source !== frame.contentWindow) { return; }
      if (event.data && event.data.type === "iara:close") { close(); }
    });

    window.IaraWidget = { open: open, close: close };
  }

  window.IaraWidget = { open: function () {}, close: function () {} };
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
