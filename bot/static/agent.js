// Carebot agent console. Everything customers, the bot or agents wrote goes in with textContent.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var me = null, ws = null, attempt = 0, current = null, typingTimer = null, typingOn = false;
  var seen = {};

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function api(method, path, body) {
    var opts = {method: method, credentials: "same-origin", headers: {}};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.status === 401) { showLogin(); }
        if (!r.ok) { var e = new Error(data.error || ("HTTP " + r.status)); e.status = r.status; throw e; }
        return data;
      });
    });
  }
  function minutes(seconds) {
    if (seconds < 60) return seconds + " s";
    return Math.floor(seconds / 60) + " min";
  }
  function time(iso) {
    if (!iso) return "";
    var d = new Date(iso.endsWith("Z") ? iso : iso + "Z");
    return d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  // -- log in ---------------------------------------------------------------------------------
  function showLogin(message) {
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    if (strip) { strip.onclose = null; strip.close(); strip = null; }
    $("console-view").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
    $("login-username").focus();
  }
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    api("POST", "/auth/login", {username: $("login-username").value, password: $("login-password").value})
      .then(function () { $("login-password").value = ""; start(); })
      .catch(function (err) { $("login-error").textContent = err.message; });
  });
  $("logout").addEventListener("click", function () {
    api("POST", "/auth/logout").finally(function () { showLogin(); });
  });
  function start() {
    api("GET", "/auth/me").then(function (user) {
      if (user.role !== "agent" && user.role !== "admin") {
        showLogin("The " + user.role + " role cannot use the agent console.");
        return;
      }
      me = user;
      $("me").textContent = user.username + " (" + user.role + ")";
      $("login-view").hidden = true;
      $("console-view").hidden = false;
      connect();
      connectStrip();
    }).catch(function () { showLogin(); });
  }

  // -- live socket --------------------------------------------------------------------------
  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/agent/ws");
    ws.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") { attempt = 0; $("conn").textContent = "Live"; $("conn").className = "conn live"; }
      else if (m.type === "queue") renderQueue(m.items);
      else if (m.type === "messages" && current && m.conversation_id === current.conversation_id) {
        m.messages.forEach(addMessage);
      } else if (m.type === "conversation" && current && m.conversation_id === current.conversation_id) {
        current.status = m.status; current.assigned_to = m.assigned_to; renderHead();
      }
    };
    ws.onclose = function (ev) {
      $("conn").textContent = "Reconnecting…"; $("conn").className = "conn";
      if (ev.code === 1008 || !me) return;
      var delay = Math.min(15000, 500 * Math.pow(2, attempt++)) * (0.5 + Math.random() / 2);
      setTimeout(function () { api("GET", "/auth/me").then(connect).catch(function () {}); }, delay);
    };
  }

  // -- the live strip (bot/monitoring: the same snapshot as the live operations page) ----------
  var strip = null;
  function connectStrip() {
    if (strip) return;
    strip = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live/ws");
    strip.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type !== "live") return;
      var s = m.snapshot;
      $("strip-active").textContent = s.active_conversations;
      $("strip-mpm").textContent = s.messages_per_minute.toFixed(1);
      $("strip-queue").textContent = s.queue_length;
      $("strip-wait").textContent = s.oldest_wait_seconds === null ? "–" : minutes(Math.round(s.oldest_wait_seconds));
      $("strip-agents").textContent = s.agents_online;
      $("strip-negative").textContent = s.negative_share === null ? "–" : Math.round(s.negative_share * 100) + "%";
      $("strip-alerts").textContent = s.alerts.map(function (a) { return "⚠ " + a.message; }).join("  ");
    };
    strip.onclose = function () {
      strip = null;
      if (me) setTimeout(connectStrip, 3000);
    };
  }

  // -- queue --------------------------------------------------------------------------------
  var REASONS = {customer_request: "asked for a person", complaint: "complaint",
                 negative_sentiment: "upset customer", repeated_fallback: "bot did not understand",
                 suspected_abuse: "suspected abuse"};
  function renderQueue(items) {
    var list = $("queue");
    list.textContent = "";
    $("queue-count").textContent = items.length ? "(" + items.length + ")" : "";
    $("queue-empty").hidden = items.length > 0;
    items.forEach(function (item) {
      var li = el("li", "queue-item" + (current && current.conversation_id === item.conversation_id ? " selected" : ""));
      li.dataset.conversationId = item.conversation_id;
      var btn = el("button", "queue-open");
      btn.type = "button";
      var top = el("div", "q-top");
      top.appendChild(el("span", "q-name", item.customer_name || "Anonymous visitor"));
      if (item.vip) top.appendChild(el("span", "badge vip", "VIP"));
      top.appendChild(el("span", "q-urgency", "urgency " + item.urgency.toFixed(1)));
      btn.appendChild(top);
      btn.appendChild(el("div", "q-reason", (REASONS[item.reason] || item.reason) + " · waiting " + minutes(item.waited_seconds)
        + (item.claimed_by ? " · claimed by " + item.claimed_by : "")));
      if (item.last_message) {
        btn.appendChild(el("div", "q-last sent-" + (item.last_sentiment || "none"), item.last_message));
      }
      btn.addEventListener("click", function () { open(item.conversation_id); });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }

  // -- one conversation -----------------------------------------------------------------------
  function open(conversationId) {
    $("chat-error").textContent = "";
    return api("GET", "/agent/api/conversations/" + encodeURIComponent(conversationId)).then(function (c) {
      current = c;
      seen = {};
      $("transcript").textContent = "";
      c.messages.forEach(addMessage);
      renderHead();
      renderCustomer(c.customer);
      Array.prototype.forEach.call(document.querySelectorAll(".queue-item"), function (li) {
        li.classList.toggle("selected", li.dataset.conversationId === conversationId);
      });
    }).catch(function (err) { $("chat-error").textContent = err.message; });
  }
  function renderHead() {
    var c = current;
    $("chat-title").textContent = "Conversation " + c.conversation_id.slice(0, 12);
    var pill = $("chat-status");
    pill.hidden = false;
    pill.textContent = c.status === "agent" ? "held by " + (c.assigned_to || "an agent") : c.status;
    pill.className = "status-pill st-" + c.status;
    var mine = c.status === "agent" && c.assigned_to === me.username;
    $("claim").hidden = c.status !== "escalated";
    $("handback").hidden = !mine;
    $("resolve").hidden = !mine;
    $("reply-form").hidden = !mine;
    var risk = c.risk, badge = $("risk-badge");
    badge.hidden = !(risk && risk.score > 0);
    if (risk && risk.score > 0) {
      badge.className = "risk-badge level-" + risk.level;
      badge.textContent = "Risk " + Math.round(risk.score * 100) + "%: " + risk.reasons.join("; ");
      badge.title = risk.reasons.join("\n");
    }
  }
  function addMessage(m) {
    if (m.id && seen[m.id]) return;
    if (m.id) seen[m.id] = true;
    var li = el("li", "msg from-" + m.sender + (m.sender === "user" ? " sent-" + (m.sentiment || "none") : ""));
    var meta = el("div", "msg-meta");
    meta.appendChild(el("span", "msg-who", m.sender === "user" ? "Customer" : m.sender === "agent" ? (m.agent || "Agent") : "Bot"));
    meta.appendChild(el("span", "msg-time", time(m.at)));
    if (m.sender === "user") {
      if (m.intent) meta.appendChild(el("span", "chip intent", m.intent + (m.confidence != null ? " " + Math.round(m.confidence * 100) + "%" : "")));
      if (m.sentiment) {
        var s = el("span", "chip sentiment sent-" + m.sentiment, m.sentiment);
        s.title = "sentiment " + m.sentiment + (m.sentiment_score != null ? " (" + m.sentiment_score.toFixed(2) + ")" : "");
        meta.appendChild(s);
      }
    }
    li.appendChild(meta);
    li.appendChild(el("div", "msg-text", m.text));
    var products = m.custom && m.custom.products;
    if (products && products.length) {
      li.appendChild(el("div", "msg-extra", "Products: " + products.map(function (p) { return p.name; }).join(", ")));
    }
    if (m.buttons && m.buttons.length) {
      li.appendChild(el("div", "msg-extra", "Buttons: " + m.buttons.map(function (b) { return b.title; }).join(" | ")));
    }
    var list = $("transcript");
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }
  function renderCustomer(c) {
    var box = $("customer");
    box.textContent = "";
    if (!c || !c.profile) {
      box.appendChild(el("p", "", c && c.email ? "Unverified visitor; typed the email " + c.email + " (no matching customer)." : "Anonymous visitor."));
      return;
    }
    var p = c.profile;
    box.appendChild(el("p", "cust-name", p.name));
    var flag = el("p", c.verified ? "verified" : "unverified", c.verified ? "Verified by the shop's login" : "Not verified: matched by the email typed in chat");
    box.appendChild(flag);
    var dl = el("dl", "facts");
    [["Customer id", p.customer_id], ["Email", p.email], ["Segment", p.segment || "—"], ["VIP", p.vip ? "yes" : "no"],
     ["Orders", p.order_count], ["Lifetime value", "$" + p.lifetime_value]].forEach(function (kv) {
      dl.appendChild(el("dt", "", kv[0])); dl.appendChild(el("dd", "", kv[1]));
    });
    box.appendChild(dl);
    if (p.risk) {
      var r = el("div", "cust-risk" + (p.risk.flagged ? " flagged" : ""));
      r.appendChild(el("div", "", (p.risk.flagged ? "Flagged by the customer-risk model" : "Customer-risk model: not flagged")
        + " (score " + p.risk.score.toFixed(2) + ")"));
      if (p.risk.flagged && p.risk.reasons.length) {
        var why = el("ul", "");
        p.risk.reasons.forEach(function (reason) { why.appendChild(el("li", "", reason)); });
        r.appendChild(why);
      }
      box.appendChild(r);
    }
    box.appendChild(el("h3", "", "Recent orders"));
    var ul = el("ul", "orders");
    p.recent_orders.forEach(function (o) {
      ul.appendChild(el("li", "", o.order_number + " · " + o.status + " · $" + o.total + " · " + o.created_at.slice(0, 10)));
    });
    if (!p.recent_orders.length) ul.appendChild(el("li", "muted", "No orders yet."));
    box.appendChild(ul);
  }

  // -- actions ----------------------------------------------------------------------------------
  function act(step) {
    if (!current) return;
    $("chat-error").textContent = "";
    api("POST", "/agent/api/conversations/" + encodeURIComponent(current.conversation_id) + "/" + step)
      .then(function () { return open(current.conversation_id); })
      .then(function () { if (step === "claim") $("reply-text").focus(); })
      .catch(function (err) { $("chat-error").textContent = err.message; });
  }
  $("claim").addEventListener("click", function () { act("claim"); });
  $("handback").addEventListener("click", function () { act("handback"); });
  $("resolve").addEventListener("click", function () { act("resolve"); });

  function setTyping(on) {
    if (typingOn === on || !current || !ws || ws.readyState !== 1) return;
    typingOn = on;
    ws.send(JSON.stringify({type: "typing", conversation_id: current.conversation_id, on: on}));
  }
  $("reply-text").addEventListener("input", function () {
    setTyping(this.value.trim().length > 0);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { setTyping(false); }, 3000);
  });
  $("reply-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply-form").requestSubmit(); }
  });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text || !current) return;
    $("reply-send").disabled = true;
    api("POST", "/agent/api/conversations/" + encodeURIComponent(current.conversation_id) + "/reply", {text: text})
      .then(function (m) { $("reply-text").value = ""; setTyping(false); addMessage(m); })
      .catch(function (err) { $("chat-error").textContent = err.message; })
      .finally(function () { $("reply-send").disabled = false; $("reply-text").focus(); });
  });

  start();
})();
