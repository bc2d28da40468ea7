/* Carebot chat widget. Add to any page:
 *
 *   <script src="https://bot.example.com/static/widget.js" async
 *           data-server="https://bot.example.com"
 *           data-customer-id="C1001" data-customer-signature="<HMAC-SHA256 hex>"
 *           data-title="Chat with Demo Shop"></script>
 *
 * data-server defaults to where the script came from; the customer id is only trusted when
 * the signature (computed by the shop's backend with the shared widget secret) matches.
 * Everything a customer, the bot or an agent wrote is put in the page with textContent.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__carebotWidget) return;
  window.__carebotWidget = true;
  var data = script.dataset;
  var server = (data.server || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var customerId = data.customerId || null;
  var signature = data.customerSignature || null;
  var title = data.title || "Chat with us";
  var storeKey = "carebot:" + server + ":" + (customerId || "visitor") + ":";
  var MAX_CHARS = 2000;

  // -- storage: the conversation and anything not yet confirmed survive reloads -------------
  function load(key, fallback) {
    try { var v = localStorage.getItem(storeKey + key); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(storeKey + key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  var conversationId = load("conversation", null);
  var outbox = load("outbox", []);  // [{id, text, shown}] sent but not acknowledged
  var failed = load("failed", []);  // [{id, text, shown, error}] refused for good: to edit
  var pendingRating = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // -- DOM (in a shadow root, so the shop's CSS and ours never mix) -------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28"); svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z");
    svg.appendChild(path);
    return svg;
  }
  var host = el("div");
  host.id = "carebot-widget";
  host.style.display = "none";
  var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
  var css = el("link");
  css.rel = "stylesheet";
  css.href = server + "/static/widget.css";
  var shown = function () { host.style.display = ""; };
  css.onload = shown; css.onerror = shown; setTimeout(shown, 3000);
  root.appendChild(css);

  var wrap = el("div", "cb-root");
  var bubble = el("button", "cb-bubble");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Open chat");
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("aria-controls", "cb-panel");
  bubble.appendChild(chatIcon());
  var badge = el("span", "cb-badge");
  badge.hidden = true;
  bubble.appendChild(badge);

  var panel = el("section", "cb-panel");
  panel.id = "cb-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var header = el("header", "cb-header");
  var heading = el("div", "cb-heading");
  heading.appendChild(el("span", "cb-title", title));
  var statusLine = el("span", "cb-status", "Carebot, our assistant");
  heading.appendChild(statusLine);
  header.appendChild(heading);
  var closeBtn = el("button", "cb-close", "\u00D7");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "Close chat");
  header.appendChild(closeBtn);
  var connLine = el("div", "cb-conn");
  connLine.setAttribute("role", "status");
  var log = el("div", "cb-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;
  var typing = el("div", "cb-typing");
  typing.setAttribute("aria-live", "polite");
  var quick = el("div", "cb-quick");
  quick.setAttribute("role", "group");
  quick.setAttribute("aria-label", "Suggested replies");
  var form = el("form", "cb-form");
  var label = el("label", "cb-sr", "Message");
  label.htmlFor = "cb-input";
  var input = el("textarea", "cb-input");
  input.id = "cb-input";
  input.rows = 1;
  input.maxLength = MAX_CHARS;
  input.placeholder = "Type a message\u2026";
  input.setAttribute("autocomplete", "off");
  var sendBtn = el("button", "cb-send", "Send");
  sendBtn.type = "submit";
  form.appendChild(label); form.appendChild(input); form.appendChild(sendBtn);
  // Welcome and reply-time expectation (data-welcome, data-reply-time), shown while the
  // conversation is empty; it watches the log so the message code needs no change.
  // (not named "welcome": that is the handler of the server's welcome frame below)
  var greeting = el("div", "cb-welcome");
  greeting.appendChild(el("p", "cb-welcome-text",
    data.welcome || "Hi! I can check an order, start a return or recommend products."));
  greeting.appendChild(el("p", "cb-reply-time",
    data.replyTime || "The assistant answers at once; our team usually replies within a few hours."));
  function showWelcome() { greeting.hidden = log.childElementCount > 0; }
  if (window.MutationObserver) new MutationObserver(showWelcome).observe(log, {childList: true});
  panel.appendChild(header); panel.appendChild(connLine); panel.appendChild(greeting);
  panel.appendChild(log);
  panel.appendChild(typing); panel.appendChild(quick); panel.appendChild(form);
  wrap.appendChild(panel); wrap.appendChild(bubble);
  root.appendChild(wrap);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // -- open / close, keyboard ----------------------------------------------------------------
  var unread = 0;
  function setOpen(open, quiet) {
    panel.hidden = !open;
    wrap.classList.toggle("cb-open", open);
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    save("open", open);
    if (open) { unread = 0; badge.hidden = true; if (!quiet) input.focus(); scrollDown(); }
  }
  bubble.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); bubble.focus(); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { setOpen(false); bubble.focus(); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  // -- rendering -------------------------------------------------------------------------------
  var seen = {};  // message ids on screen: a message delivered twice is shown once
  var agentName = null;
  var mode = "bot";  // bot | escalated | agent | resolved

  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function noteUnread() {
    if (panel.hidden) { unread += 1; badge.textContent = String(unread); badge.hidden = false; }
  }
  function row(cls) {
    var r = el("div", "cb-row " + cls);
    log.appendChild(r);
    return r;
  }
  // "14:05" under a message: when it was written (history) or arrived (live)
  function stamp(r, iso) {
    var d = iso ? new Date(/Z|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z") : new Date();
    if (isNaN(d.getTime())) return;
    var t = el("time", "cb-time", d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}));
    t.setAttribute("datetime", d.toISOString());
    r.appendChild(t);
  }
  // the text of a message that also carries product cards, without the lines the cards repeat
  function withoutCardLines(text, products) {
    var names = products.map(function (p) { return String(p.name || ""); }).filter(Boolean);
    var kept = String(text).split("\n").filter(function (line) {
      return !names.some(function (name) { return line.indexOf(name) !== -1; });
    });
    return kept.join("\n").trim();
  }
  function addUser(text, id, pending, at) {
    var r = row("cb-user");
    var b = el("div", "cb-msg", text);
    r.appendChild(b);
    stamp(r, at);
    if (id) { r.dataset.id = id; seen[id] = true; }
    if (pending) { r.classList.add("cb-pending"); r.appendChild(el("div", "cb-meta", "Sending\u2026")); }
    scrollDown();
    return r;
  }
  function safeUrl(url) {
    try { var u = new URL(String(url), location.href); return /^https?:$/.test(u.protocol) ? u.href : null; }
    catch (e) { return null; }
  }
  function svgIcon(d, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size)); svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.6"); path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }
  // a product without a picture: a drawn shopping bag and its category, never a lone letter
  var BAG = "M6 8h12l-1 12H7L6 8zm3 0V6.5a3 3 0 0 1 6 0V8";
  function imagePlaceholder(box, p) {
    box.classList.add("cb-card-noimg");
    box.setAttribute("aria-hidden", "true");
    box.appendChild(svgIcon(BAG, 30));
    if (p.category) box.appendChild(el("span", "cb-card-cat", p.category));
  }
  // cards wider than the message: arrows and a fading edge say there is more to the side
  function scrollable(list) {
    var box = el("div", "cb-cards-box");
    var prev = el("button", "cb-cards-nav cb-cards-prev");
    var next = el("button", "cb-cards-nav cb-cards-next");
    prev.type = next.type = "button";
    prev.setAttribute("aria-label", "Previous products");
    next.setAttribute("aria-label", "More products");
    prev.appendChild(svgIcon("M15 5l-7 7 7 7", 18));
    next.appendChild(svgIcon("M9 5l7 7-7 7", 18));
    function update() {
      var max = list.scrollWidth - list.clientWidth;
      var before = list.scrollLeft > 2, after = list.scrollLeft < max - 2;
      box.classList.toggle("cb-more-before", before);
      box.classList.toggle("cb-more-after", after);
      prev.hidden = !before; next.hidden = !after;
    }
    function step(direction) {
      var card = list.querySelector(".cb-card");
      var by = card ? card.getBoundingClientRect().width + 8 : list.clientWidth * 0.8;
      list.scrollBy({left: direction * by, behavior: "smooth"});
    }
    prev.addEventListener("click", function () { step(-1); });
    next.addEventListener("click", function () { step(1); });
    list.addEventListener("scroll", update, {passive: true});
    if (window.ResizeObserver) new ResizeObserver(update).observe(list);
    prev.hidden = next.hidden = true;
    box.appendChild(list); box.appendChild(prev); box.appendChild(next);
    setTimeout(update, 0);
    return box;
  }
  function productCards(products) {
    var list = el("ul", "cb-cards");
    list.setAttribute("aria-label", "Recommended products");
    products.forEach(function (p) {
      var card = el("li", "cb-card");
      var img = el("div", "cb-card-img");
      var src = p.image ? safeUrl(p.image) : null;
      if (src) { var i = el("img"); i.alt = ""; i.src = src; img.appendChild(i); }
      else imagePlaceholder(img, p);
      card.appendChild(img);
      card.appendChild(el("div", "cb-card-name", p.name));
      var price = Number(p.price);
      card.appendChild(el("div", "cb-card-price", isFinite(price) ? "$" + price.toFixed(2) : String(p.price || "")));
      var href = p.url ? safeUrl(p.url) : null;
      if (href) {
        var a = el("a", "cb-card-link", "View");
        a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer";
        a.setAttribute("aria-label", "View " + (p.name || "product"));
        card.appendChild(a);
      }
      list.appendChild(card);
    });
    return scrollable(list);
  }
  function addBot(m, live) {
    if (m.id && seen[m.id]) return;
    if (m.id) seen[m.id] = true;
    var r = row("cb-bot");
    var custom = m.custom || {};
    var cards = custom.products && custom.products.length ? custom.products : null;
    var text = m.text && cards ? withoutCardLines(m.text, cards) : m.text;
    if (text) r.appendChild(el("div", "cb-msg", text));
    if (cards) r.appendChild(productCards(cards));
    if (custom.type === "order" && custom.tracking_url && safeUrl(custom.tracking_url)) {
      var track = el("a", "cb-track", "Track the parcel" + (custom.carrier ? " with " + custom.carrier : "")
        + (custom.tracking_number ? " (" + custom.tracking_number + ")" : ""));
      track.href = safeUrl(custom.tracking_url); track.target = "_blank"; track.rel = "noopener noreferrer";
      r.appendChild(track);
    }
    if (m.image && safeUrl(m.image)) {
      var img = el("img", "cb-image"); img.alt = ""; img.src = safeUrl(m.image); r.appendChild(img);
    }
    stamp(r, m.at);
    showQuickReplies(m.buttons || []);
    if (live) noteUnread();
    scrollDown();
  }
  // "Alice Martin" -> "AM", "bob" -> "B": the first letter of the first and the last word
  function initials(name) {
    var words = String(name).split(/\s+/).map(function (w) {
      var letters = w.match(/[\p{L}\p{N}]/u);
      return letters ? letters[0] : "";
    }).filter(Boolean);
    if (!words.length) return "?";
    return (words[0] + (words.length > 1 ? words[words.length - 1] : "")).toUpperCase();
  }
  function hue(name) {  // one of the avatar colours, the same for the same name
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h % 6;
  }
  function addAgent(m, live) {
    if (m.id && seen[m.id]) return;
    if (m.id) seen[m.id] = true;
    var r = row("cb-agent");
    // live frames carry the name customers see as "agent"; the history has it as "agent_name"
    var name = m.agent_name || m.agent || "Support";
    var avatar = el("span", "cb-avatar cb-avatar-" + hue(name), initials(name));
    avatar.setAttribute("aria-hidden", "true");
    avatar.title = name;
    r.appendChild(avatar);
    var body = el("div", "cb-agent-body");
    body.appendChild(el("div", "cb-who", name + " \u00B7 support team"));
    body.appendChild(el("div", "cb-msg", m.text));
    r.appendChild(body);
    stamp(body, m.at);
    showQuickReplies([]);
    if (live) noteUnread();
    scrollDown();
  }
  function addNotice(text) {
    var r = row("cb-notice");
    r.appendChild(el("div", "cb-notice-text", text));
    scrollDown();
  }
  function showQuickReplies(buttons) {
    quick.textContent = "";
    buttons.forEach(function (b) {
      if (!b || typeof b.payload !== "string") return;
      var btn = el("button", "cb-quick-btn", b.title || b.payload);
      btn.type = "button";
      btn.addEventListener("click", function () { send(b.payload, b.title || b.payload); });
      quick.appendChild(btn);
    });
  }
  function setMode(next, name) {
    mode = next;
    if (name) agentName = name;
    if (mode === "agent") statusLine.textContent = "You're chatting with " + (agentName || "our support team");
    else if (mode === "escalated") statusLine.textContent = "Waiting for a person from our team\u2026";
    else if (mode === "resolved") statusLine.textContent = "Conversation ended \u2014 write to start again";
    else statusLine.textContent = "Carebot, our assistant";
  }

  // -- satisfaction prompt -------------------------------------------------------------------
  var WORDS = ["", "very poor", "poor", "okay", "good", "excellent"];
  function showRatingPrompt() {
    if (log.querySelector(".cb-csat")) return;
    var box = row("cb-csat");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Rate this conversation");
    box.appendChild(el("p", "cb-csat-q", "How would you rate this conversation?"));
    var scale = el("div", "cb-csat-scale");
    var chosen = 0;
    var buttons = [];
    for (var n = 1; n <= 5; n++) {
      (function (value) {
        var b = el("button", "cb-csat-n", String(value));
        b.type = "button";
        b.setAttribute("aria-pressed", "false");
        b.setAttribute("aria-label", value + " of 5, " + WORDS[value]);
        b.addEventListener("click", function () {
          chosen = value;
          buttons.forEach(function (x, i) { x.setAttribute("aria-pressed", String(i + 1 === value)); });
          submitBtn.disabled = false;
        });
        buttons.push(b); scale.appendChild(b);
      })(n);
    }
    box.appendChild(scale);
    var commentLabel = el("label", "cb-csat-label", "Anything to add? (optional)");
    var comment = el("textarea", "cb-csat-comment");
    comment.maxLength = 2000; comment.rows = 2; comment.id = "cb-csat-comment";
    commentLabel.htmlFor = comment.id;
    box.appendChild(commentLabel); box.appendChild(comment);
    var submitBtn = el("button", "cb-csat-send", "Send rating");
    submitBtn.type = "button"; submitBtn.disabled = true;
    submitBtn.addEventListener("click", function () {
      if (!chosen) return;
      pendingRating = {type: "csat", rating: chosen, comment: comment.value.trim() || null};
      save("rated:" + conversationId, true);
      submitBtn.disabled = true;
      flushRating();
    });
    box.appendChild(submitBtn);
    scrollDown();
  }
  function flushRating() {
    if (pendingRating && ready()) ws.send(JSON.stringify(pendingRating));
  }
  function thankForRating() {
    pendingRating = null;
    var box = log.querySelector(".cb-csat");
    if (box) { box.textContent = ""; box.appendChild(el("p", "cb-csat-thanks", "Thank you for your feedback!")); }
  }

  // -- sending: every message waits in the outbox until the server acknowledges it -----------
  function submit() {
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text.slice(0, MAX_CHARS), null);
  }
  function send(text, label) {
    var item = {id: uuid(), text: text, shown: label || text};
    outbox.push(item); save("outbox", outbox);
    addUser(item.shown, item.id, true);
    showQuickReplies([]);
    if (ready()) transmit(item);
  }
  function transmit(item) {
    ws.send(JSON.stringify({type: "message", text: item.text, id: item.id}));
  }
  // A message leaves the outbox only when the server acknowledges it (stored) or refuses it
  // for good ("retry": false); every other error means "send it again later".
  var retryTimers = {}, retries = {};
  function userRow(id) {
    var rows = log.querySelectorAll(".cb-user");
    for (var i = 0; i < rows.length; i++) if (rows[i].dataset.id === id) return rows[i];
    return null;
  }
  function showDelivery(id, state, note) {
    var r = userRow(id);
    if (!r) return null;
    r.classList.remove("cb-pending", "cb-retrying", "cb-failed");
    var meta = r.querySelector(".cb-meta");
    if (meta) meta.remove();
    if (state) { r.classList.add("cb-" + state); r.appendChild(el("div", "cb-meta", note)); }
    return r;
  }
  function forget(id) {
    clearTimeout(retryTimers[id]);
    delete retryTimers[id]; delete retries[id];
    outbox = outbox.filter(function (m) { return m.id !== id; });
    save("outbox", outbox);
  }
  function confirm(id) {
    forget(id);
    showDelivery(id, null);
  }
  function inOutbox(id) {
    for (var i = 0; i < outbox.length; i++) if (outbox[i].id === id) return outbox[i];
    return null;
  }
  function retryLater(id, retryAfter) {
    if (!inOutbox(id)) return;
    retries[id] = (retries[id] || 0) + 1;
    // Exponential backoff with jitter (or the server's Retry-After), capped at 15 s.
    var delay = retryAfter > 0 ? retryAfter * 1000
      : Math.min(15000, 1000 * Math.pow(2, retries[id] - 1)) * (0.5 + Math.random() / 2);
    showDelivery(id, "retrying", "Not sent \u2014 retrying\u2026");
    clearTimeout(retryTimers[id]);
    retryTimers[id] = setTimeout(function () {
      delete retryTimers[id];
      var item = inOutbox(id);
      // not connected: the welcome after the reconnect sends the whole outbox
      if (item && ready()) { showDelivery(id, "pending", "Sending\u2026"); transmit(item); }
    }, delay);
  }
  function refuse(id, error) {
    var item = inOutbox(id);
    if (!item) return;
    forget(id);
    failed.push({id: item.id, text: item.text, shown: item.shown, error: error});
    save("failed", failed);
    showFailed(failed[failed.length - 1]);
    if (!input.value) input.value = item.text;  // kept for editing
  }
  function showFailed(item) {
    var r = showDelivery(item.id, "failed", "Not sent: " + item.error);
    if (!r) { r = addUser(item.shown, item.id, false); showDelivery(item.id, "failed", "Not sent: " + item.error); }
    var edit = el("button", "cb-edit", "Edit and send again");
    edit.type = "button";
    edit.addEventListener("click", function () {
      failed = failed.filter(function (f) { return f.id !== item.id; });
      save("failed", failed);
      r.remove();
      input.value = item.text;
      input.focus();
    });
    r.appendChild(edit);
  }

  // -- the connection ----------------------------------------------------------------------------
  var ws = null, welcomed = false, attempt = 0, retryTimer = null;
  function ready() { return ws && ws.readyState === 1 && welcomed; }
  function connect() {
    clearTimeout(retryTimer);
    welcomed = false;
    ws = new WebSocket(server.replace(/^http/, "ws") + "/ws");
    ws.onopen = function () {
      ws.send(JSON.stringify({type: "hello", conversation_id: conversationId,
                              token: load("token", null),
                              customer_id: customerId, signature: signature}));
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      handle(m);
    };
    ws.onclose = function () {
      welcomed = false;
      typing.textContent = "";
      // Exponential backoff with jitter, so a restarted server is not stampeded.
      var delay = Math.min(15000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      connLine.textContent = "Connection lost \u2014 reconnecting\u2026";
      wrap.classList.add("cb-offline");
      retryTimer = setTimeout(connect, delay);
    };
  }
  function welcome(m) {
    conversationId = m.conversation_id;
    save("conversation", conversationId);
    save("token", m.token);
    attempt = 0;
    connLine.textContent = "";
    wrap.classList.remove("cb-offline");
    log.textContent = "";
    seen = {};
    var payloadTitles = {};
    var last = null;
    (m.history || []).forEach(function (h) {
      if (h.sender === "user") {
        addUser(payloadTitles[h.text] || h.text, h.id, false, h.at);
      } else if (h.sender === "agent") {
        addAgent(h, false);
      } else {
        addBot(h, false);
        payloadTitles = {};
        (h.buttons || []).forEach(function (b) { payloadTitles[b.payload] = b.title; });
      }
      last = h;
    });
    if (!last || last.sender !== "bot") showQuickReplies([]);
    setMode(m.status || "bot", lastAgent(m.history || []));
    if (mode === "resolved" && !load("rated:" + conversationId, false)) showRatingPrompt();
    // What the server already has is delivered; the rest goes again (it drops duplicates).
    outbox = outbox.filter(function (o) { return !seen[o.id]; });
    save("outbox", outbox);
    failed.forEach(showFailed);
    welcomed = true;
    Object.keys(retryTimers).forEach(function (id) { clearTimeout(retryTimers[id]); });
    retryTimers = {};
    outbox.forEach(function (o) { addUser(o.shown, o.id, true); transmit(o); });
    flushRating();
  }
  function lastAgent(history) {
    for (var i = history.length - 1; i >= 0; i--) if (history[i].sender === "agent") return history[i].agent_name || history[i].agent;
    return null;
  }
  function handle(m) {
    switch (m.type) {
      case "welcome": welcome(m); break;
      case "ack": if (m.id) confirm(m.id); break;
      case "typing":
        if (m.who === "agent") typing.textContent = m.on ? (m.agent || "Support") + " is typing\u2026" : "";
        else if (mode === "bot") typing.textContent = m.on ? "Carebot is typing\u2026" : "";
        break;
      case "bot":
        typing.textContent = "";
        if (mode === "resolved") setMode("bot");  // the bot answers again: not "ended" any more
        addBot(m, true);
        break;
      case "agent": typing.textContent = ""; addAgent(m, true); break;
      case "notice":
        if (m.event === "agent_joined") setMode("agent", m.agent);
        if (m.event === "agent_left") setMode("bot");
        addNotice(m.text); noteUnread();
        break;
      case "ended":
        typing.textContent = "";
        if (m.by === "agent" || m.by === "timeout") setMode("resolved");
        if (m.text) addNotice(m.text);
        showRatingPrompt(); noteUnread();
        break;
      case "status": setMode(m.status); break;
      case "csat_thanks": thankForRating(); break;
      case "error":
        if (m.id && inOutbox(m.id)) {
          if (m.retry === false) refuse(m.id, m.error || "the server refused it");
          else retryLater(m.id, Number(m.retry_after) || 0);
        } else {
          addNotice(m.error || "Something went wrong.");
        }
        break;
    }
  }

  setOpen(!!load("open", false) || data.open === "true", true);
  connect();
})();
