// Carebot agent console. Everything customers, the bot or agents wrote goes in with textContent.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var me = null, ws = null, attempt = 0, current = null, typingTimer = null, typingOn = false;
  var seen = {};
  var view = "all", items = [], knownEscalations = null, unread = {}, savedReplies = [], searching = false;
  var baseTitle = document.title;

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
  // "40 s", "12 min", "3 h", "2 d": never "36757 min"
  function minutes(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h";
    return Math.floor(seconds / 86400) + " d";
  }
  function money(value) {
    var n = Number(value || 0);
    return "$" + n.toLocaleString("en-US", {maximumFractionDigits: 0});
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
      $("me").textContent = (user.display_name || user.username) + " (" + user.role + ")";
      $("login-view").hidden = true;
      $("console-view").hidden = false;
      connect();
      connectStrip();
      loadSavedReplies();
      loadAgents();
      renderNotifyButton();
    }).catch(function () { showLogin(); });
  }

  // -- live socket --------------------------------------------------------------------------
  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/agent/ws");
    ws.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") { attempt = 0; $("conn").textContent = "Live"; $("conn").className = "conn live"; }
      else if (m.type === "queue") { noticeNewEscalations(m.items); items = m.items; renderQueue(); }
      else if (m.type === "messages") {
        if (current && m.conversation_id === current.conversation_id) m.messages.forEach(addMessage);
        noticeCustomerMessages(m.conversation_id, m.messages);
      } else if (m.type === "conversation" && current && m.conversation_id === current.conversation_id) {
        current.status = m.status; current.assigned_to = m.assigned_to; renderHead();
      } else if (m.type === "note" && current && m.conversation_id === current.conversation_id) {
        addNote(m.note);
      } else if (m.type === "transferred" && m.to === me.username) {
        notify("A conversation was transferred to you", "from " + m.from, m.conversation_id);
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

  // -- queue, views and search ------------------------------------------------------------------
  var REASONS = {customer_request: "asked for a person", complaint: "complaint",
                 negative_sentiment: "upset customer", repeated_fallback: "bot did not understand",
                 suspected_abuse: "suspected abuse"};
  function inView(item) {
    if (view === "mine") return item.claimed_by === me.username;
    if (view === "unassigned") return item.status === "open";
    return true;
  }
  function renderQueue() {
    if (view === "resolved" || searching) return;
    var list = $("queue");
    list.textContent = "";
    var shown = items.filter(inView);
    $("n-mine").textContent = count(items.filter(function (i) { return i.claimed_by === me.username; }));
    $("n-unassigned").textContent = count(items.filter(function (i) { return i.status === "open"; }));
    $("n-all").textContent = count(items);
    $("queue-count").textContent = items.length ? "(" + items.length + ")" : "";
    $("queue-empty").textContent = view === "mine" ? "You hold no conversation." : "Nobody is waiting.";
    $("queue-empty").hidden = shown.length > 0;
    shown.forEach(function (item) { list.appendChild(queueItem(item)); });
    updateBadge();
  }
  function count(list) { return list.length ? String(list.length) : ""; }
  function queueItem(item) {
    var li = el("li", "queue-item" + (item.stale ? " stale" : "") + (current && current.conversation_id === item.conversation_id ? " selected" : ""));
    li.dataset.conversationId = item.conversation_id;
    var btn = el("button", "queue-open");
    btn.type = "button";
    var top = el("div", "q-top");
    top.appendChild(el("span", "q-name", item.title || item.customer_name || "Visitor"));
    if (unread[item.conversation_id]) top.appendChild(el("span", "badge unread", unread[item.conversation_id] + " new"));
    if (item.vip) top.appendChild(el("span", "badge vip", "VIP"));
    if (item.stale) top.appendChild(el("span", "badge stale", "stale"));
    var urgency = el("span", "q-urgency", "urgency " + item.urgency.toFixed(1));
    urgency.title = (item.urgency_reasons || []).join("\n");
    top.appendChild(urgency);
    btn.appendChild(top);
    var facts = [REASONS[item.reason] || item.reason, "waiting " + minutes(item.waited_seconds)];
    if (Number(item.customer_spend) > 0) facts.push(money(item.customer_spend) + " lifetime");
    if (item.claimed_by) facts.push("claimed by " + item.claimed_by);
    btn.appendChild(el("div", "q-reason", facts.join(" · ")));
    if (item.urgency_reasons && item.urgency_reasons.length) {
      btn.appendChild(el("div", "q-why", "Why: " + item.urgency_reasons.join("; ")));
    }
    if (item.contact_email) btn.appendChild(el("div", "q-contact", "Reply by email: " + item.contact_email));
    if (item.last_message) {
      btn.appendChild(el("div", "q-last sent-" + (item.last_sentiment || "none"), item.last_message));
    }
    btn.addEventListener("click", function () { open(item.conversation_id); });
    li.appendChild(btn);
    return li;
  }
  function summaryItem(c) {
    var li = el("li", "queue-item summary");
    li.dataset.conversationId = c.conversation_id;
    var btn = el("button", "queue-open");
    btn.type = "button";
    var top = el("div", "q-top");
    top.appendChild(el("span", "q-name", c.title));
    top.appendChild(el("span", "status-pill st-" + c.status, c.status));
    btn.appendChild(top);
    btn.appendChild(el("div", "q-reason", (c.last_active_at ? "last active " + c.last_active_at.slice(0, 16).replace("T", " ") : "")));
    if (c.matched) btn.appendChild(el("div", "q-last", c.matched));
    btn.addEventListener("click", function () { open(c.conversation_id); });
    li.appendChild(btn);
    return li;
  }
  function showSummaries(list, empty) {
    var box = $("queue");
    box.textContent = "";
    list.forEach(function (c) { box.appendChild(summaryItem(c)); });
    $("queue-empty").textContent = empty;
    $("queue-empty").hidden = list.length > 0;
  }
  function setView(name) {
    view = name; searching = false;
    $("search-note").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll(".view"), function (b) {
      b.setAttribute("aria-selected", b.dataset.view === name ? "true" : "false");
    });
    if (name === "resolved") {
      api("GET", "/agent/api/resolved").then(function (r) { if (view === "resolved") showSummaries(r.items, "No resolved conversations yet."); })
        .catch(function (err) { $("chat-error").textContent = err.message; });
    } else renderQueue();
  }
  Array.prototype.forEach.call(document.querySelectorAll(".view"), function (b) {
    b.addEventListener("click", function () { $("search-q").value = ""; setView(b.dataset.view); });
  });
  $("search-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = $("search-q").value.trim();
    if (!q) { setView(view); return; }
    api("GET", "/agent/api/search?q=" + encodeURIComponent(q)).then(function (r) {
      searching = true;
      $("search-note").hidden = false;
      $("search-note").textContent = r.items.length + " conversation" + (r.items.length === 1 ? "" : "s") + " match “" + q + "”";
      showSummaries(r.items, "Nothing matches.");
    }).catch(function (err) { $("chat-error").textContent = err.message; });
  });
  $("search-q").addEventListener("search", function () { if (!this.value) setView(view); });

  // -- notifications: a sound, the title badge, the browser's Notification ----------------------
  function noticeNewEscalations(next) {
    var ids = {};
    next.forEach(function (i) { ids[i.escalation_id] = true; });
    if (knownEscalations !== null) {
      next.forEach(function (i) {
        if (!knownEscalations[i.escalation_id] && i.status === "open") {
          notify("New conversation waiting: " + (i.title || "Visitor"), (REASONS[i.reason] || i.reason) + (i.last_message ? " — " + i.last_message : ""), i.conversation_id);
        }
      });
    }
    knownEscalations = ids;
  }
  function noticeCustomerMessages(conversationId, messages) {
    var mine = items.some(function (i) { return i.conversation_id === conversationId && i.claimed_by === me.username; });
    var fromCustomer = messages.filter(function (m) { return m.sender === "user"; });
    if (!mine || !fromCustomer.length) return;
    var looking = current && current.conversation_id === conversationId && document.hasFocus() && !document.hidden;
    if (!looking) {
      unread[conversationId] = (unread[conversationId] || 0) + fromCustomer.length;
      renderQueue();
      var item = items.filter(function (i) { return i.conversation_id === conversationId; })[0];
      notify("New message from " + ((item && item.title) || "a customer"), fromCustomer[fromCustomer.length - 1].text, conversationId);
    }
  }
  function updateBadge() {
    var waiting = items.filter(function (i) { return i.status === "open"; }).length;
    var n = waiting + Object.keys(unread).reduce(function (sum, k) { return sum + unread[k]; }, 0);
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.15);
    } catch (e) { /* no audio device: the badge and notification still tell */ }
  }
  function notify(title, body, conversationId) {
    beep();
    updateBadge();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(title, {body: String(body || "").slice(0, 140), tag: "carebot-" + conversationId});
      n.onclick = function () { window.focus(); open(conversationId); n.close(); };
    } catch (e) { /* some browsers allow notifications from a service worker only */ }
  }
  function renderNotifyButton() {
    var b = $("notify-enable");
    if (!("Notification" in window)) { b.hidden = true; return; }
    b.hidden = Notification.permission === "granted";
    b.textContent = Notification.permission === "denied" ? "Notifications blocked" : "Enable notifications";
    b.disabled = Notification.permission === "denied";
  }
  $("notify-enable").addEventListener("click", function () {
    Promise.resolve(Notification.requestPermission()).then(renderNotifyButton);
  });
  window.addEventListener("focus", function () {
    if (current && unread[current.conversation_id]) { delete unread[current.conversation_id]; renderQueue(); }
  });

  // -- one conversation -----------------------------------------------------------------------
  function open(conversationId) {
    $("chat-error").textContent = "";
    return api("GET", "/agent/api/conversations/" + encodeURIComponent(conversationId)).then(function (c) {
      current = c;
      seen = {};
      $("transcript").textContent = "";
      c.messages.forEach(addMessage);
      delete unread[conversationId];
      renderHead();
      renderCustomer(c.customer);
      renderNotes(c.notes || []);
      renderHistory(c.past_conversations || []);
      updateBadge();
      Array.prototype.forEach.call(document.querySelectorAll(".queue-item"), function (li) {
        li.classList.toggle("selected", li.dataset.conversationId === conversationId);
      });
    }).catch(function (err) { $("chat-error").textContent = err.message; });
  }
  function renderHead() {
    var c = current;
    $("chat-title").textContent = c.title || "Visitor";
    $("chat-title").title = "Conversation " + c.conversation_id;
    var pill = $("chat-status");
    pill.hidden = false;
    pill.textContent = c.status === "agent" ? "held by " + (c.assigned_to || "an agent") : c.status;
    pill.className = "status-pill st-" + c.status;
    var mine = c.status === "agent" && c.assigned_to === me.username;
    $("claim").hidden = c.status !== "escalated";
    $("handback").hidden = !mine;
    $("resolve").hidden = !mine;
    $("reply-form").hidden = !mine;
    $("transfer-box").hidden = !mine;
    fillTransfer();
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
    if (current && current.contact_email) {
      box.appendChild(el("p", "contact", "Left an email for a reply: " + current.contact_email));
    }
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
     ["Orders", p.order_count], ["Lifetime value", money(p.lifetime_value)]].forEach(function (kv) {
      dl.appendChild(el("dt", "", kv[0]));
      var dd = el("dd", kv[0] === "Email" ? "email" : "", kv[1]);
      if (kv[0] === "Email") dd.title = kv[1];
      dl.appendChild(dd);
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
    if ((e.key === "Tab" || e.key === "Enter") && !e.shiftKey && expandShortcut(this)) { e.preventDefault(); return; }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply-form").requestSubmit(); }
  });
  // "/refund-policy" + Tab (or Enter) becomes the saved reply's text
  function expandShortcut(box) {
    var before = box.value.slice(0, box.selectionStart);
    var m = /(^|\s)\/([a-z0-9][a-z0-9_-]*)$/.exec(before);
    if (!m) return false;
    var found = savedReplies.filter(function (r) { return r.shortcut === m[2]; })[0];
    if (!found) return false;
    var start = before.length - m[2].length - 1;
    box.value = box.value.slice(0, start) + found.text + box.value.slice(box.selectionStart);
    box.selectionStart = box.selectionEnd = start + found.text.length;
    return true;
  }
  function insertReply(text) {
    var box = $("reply-text"), at = box.selectionStart || box.value.length;
    box.value = box.value.slice(0, at) + text + box.value.slice(at);
    box.focus();
    box.selectionStart = box.selectionEnd = at + text.length;
  }
  $("saved-pick").addEventListener("change", function () {
    var found = savedReplies.filter(function (r) { return String(r.id) === this.value; }, this)[0];
    if (found) insertReply(found.text);
    this.value = "";
  });
  function loadSavedReplies() {
    return api("GET", "/agent/api/saved-replies").then(function (r) {
      savedReplies = r.items;
      var pick = $("saved-pick"), list = $("saved-list");
      pick.textContent = ""; list.textContent = "";
      pick.appendChild(el("option", "", "Saved replies…")).value = "";
      savedReplies.forEach(function (reply) {
        var o = el("option", "", "/" + reply.shortcut + " — " + reply.text.slice(0, 40));
        o.value = String(reply.id);
        pick.appendChild(o);
        var li = el("li", "saved-item");
        li.appendChild(el("b", "", "/" + reply.shortcut));
        li.appendChild(el("span", "", " " + reply.text));
        var del = el("button", "saved-delete", "Delete");
        del.type = "button";
        del.addEventListener("click", function () {
          api("DELETE", "/agent/api/saved-replies/" + reply.id).then(loadSavedReplies)
            .catch(function (err) { $("saved-error").textContent = err.message; });
        });
        li.appendChild(del);
        list.appendChild(li);
      });
    }).catch(function () {});
  }
  $("saved-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("saved-error").textContent = "";
    api("POST", "/agent/api/saved-replies", {shortcut: $("saved-shortcut").value, text: $("saved-text").value})
      .then(function () { $("saved-shortcut").value = ""; $("saved-text").value = ""; return loadSavedReplies(); })
      .catch(function (err) { $("saved-error").textContent = err.message; });
  });

  var agents = [];
  function loadAgents() {
    api("GET", "/agent/api/agents").then(function (r) { agents = r.items; fillTransfer(); }).catch(function () {});
  }
  function fillTransfer() {
    var pick = $("transfer-to");
    pick.textContent = "";
    agents.filter(function (a) { return a.username !== me.username; }).forEach(function (a) {
      var o = el("option", "", a.shown_name + (a.shown_name !== a.username ? " (" + a.username + ")" : ""));
      o.value = a.username;
      pick.appendChild(o);
    });
    $("transfer").disabled = !pick.options.length;
  }
  $("transfer").addEventListener("click", function () {
    if (!current || !$("transfer-to").value) return;
    $("chat-error").textContent = "";
    api("POST", "/agent/api/conversations/" + encodeURIComponent(current.conversation_id) + "/transfer", {to: $("transfer-to").value})
      .then(function () { return open(current.conversation_id); })
      .catch(function (err) { $("chat-error").textContent = err.message; });
  });

  function renderNotes(notes) {
    $("notes-box").hidden = false;
    $("notes").textContent = "";
    notes.forEach(addNote);
  }
  function addNote(note) {
    if (document.querySelector('.note[data-id="' + note.id + '"]')) return;
    var li = el("li", "note");
    li.dataset.id = String(note.id);
    li.appendChild(el("div", "note-meta", (note.author || "an agent") + " · " + time(note.at)));
    li.appendChild(el("div", "note-text", note.text));
    $("notes").appendChild(li);
  }
  $("note-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("note-text").value.trim();
    if (!text || !current) return;
    api("POST", "/agent/api/conversations/" + encodeURIComponent(current.conversation_id) + "/notes", {text: text})
      .then(function (note) { $("note-text").value = ""; addNote(note); })
      .catch(function (err) { $("chat-error").textContent = err.message; });
  });
  function renderHistory(list) {
    $("history-box").hidden = false;
    var box = $("history");
    box.textContent = "";
    list.forEach(function (c) {
      var li = el("li", "");
      var b = el("button", "history-open", (c.started_at || "").slice(0, 10) + " · " + c.status + (c.first_message ? " · " + c.first_message : ""));
      b.type = "button";
      b.addEventListener("click", function () { open(c.conversation_id); });
      li.appendChild(b);
      box.appendChild(li);
    });
    if (!list.length) box.appendChild(el("li", "muted", "None before this one."));
  }
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
