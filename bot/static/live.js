// Carebot live operations page: one socket, the server pushes a snapshot whenever something
// changes. Everything shown goes in with textContent.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var ws = null, attempt = 0, me = null;

  function show(view) {
    ["login-view", "denied-view", "live-view"].forEach(function (id) { $(id).hidden = id !== view; });
  }
  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; }
  function duration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso.endsWith("Z") ? iso : iso + "Z");
    return d.toLocaleString([], {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }
  function set(id, text) { $(id).textContent = text; }

  function render(s) {
    set("live-active", s.active_conversations);
    set("live-mpm", s.messages_per_minute.toFixed(1));
    set("live-mpm-sub", s.messages_last_minute + " in the last minute");
    set("live-queue", s.queue_length);
    set("live-claimed", s.claimed + " with an agent");
    set("live-oldest-wait", duration(s.oldest_wait_seconds));
    set("live-agents", s.agents_online);
    set("live-agent-names", s.agents.join(", "));
    set("live-negative", pct(s.negative_share));
    set("live-negative-week", "same hour last week: " + pct(s.negative_share_last_week) + " · " + s.customer_messages_15m + " messages");
    set("live-fallback", pct(s.fallback_rate));
    set("live-fallback-week", "same hour last week: " + pct(s.fallback_rate_last_week));
    set("live-containment", pct(s.containment_today));
    set("live-today", s.conversations_today + " conversations today");
    $("live-queue").parentNode.classList.toggle("warn", s.queue_length > 0 && s.agents_online === 0);
    set("live-updated", when(s.at));
    var list = $("alerts-list");
    list.textContent = "";
    s.alerts.forEach(function (a) {
      var li = document.createElement("li");
      li.className = "alert";
      li.dataset.rule = a.rule;
      li.appendChild(document.createTextNode(a.message));
      var since = document.createElement("span");
      since.className = "since";
      since.textContent = "since " + when(a.raised_at);
      li.appendChild(since);
      list.appendChild(li);
    });
    $("alerts-none").hidden = s.alerts.length > 0;
    document.body.dataset.updatedAt = s.at;
  }

  function loadHistory() {
    fetch("/api/alerts", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : {alerts: []}; })
      .then(function (data) {
        var body = $("alert-history").tBodies[0];
        body.textContent = "";
        data.alerts.slice(0, 20).forEach(function (a) {
          var tr = document.createElement("tr");
          [a.rule, a.message, when(a.raised_at), a.cleared_at ? when(a.cleared_at) : "open"].forEach(function (t) {
            var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
          });
          body.appendChild(tr);
        });
      }).catch(function () {});
  }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live/ws");
    var alertIds = "";
    ws.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") { attempt = 0; $("conn").textContent = "Live"; $("conn").className = "conn live"; }
      else if (m.type === "live") {
        render(m.snapshot);
        var ids = m.snapshot.alerts.map(function (a) { return a.alert_id; }).join(",");
        if (ids !== alertIds) { alertIds = ids; loadHistory(); }
      }
    };
    ws.onclose = function (ev) {
      $("conn").textContent = "Reconnecting…"; $("conn").className = "conn";
      if (!me) return;
      var delay = Math.min(15000, 500 * Math.pow(2, attempt++)) * (0.5 + Math.random() / 2);
      setTimeout(function () { start(); }, delay);
    };
  }

  function start() {
    fetch("/auth/me", {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401) { me = null; show("login-view"); return null; }
      return r.json();
    }).then(function (user) {
      if (!user) return;
      if (user.role !== "analyst" && user.role !== "admin") {
        me = null;
        set("denied-text", "The " + user.role + " role does not see the live operations page; agents see it as the strip in the agent console.");
        show("denied-view");
        return;
      }
      me = user;
      set("me", user.username + " (" + user.role + ")");
      show("live-view");
      loadHistory();
      connect();
    }).catch(function () { show("login-view"); });
  }

  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    set("login-error", "");
    fetch("/auth/login", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username: $("login-username").value, password: $("login-password").value})})
      .then(function (r) {
        if (!r.ok) return r.json().catch(function () { return {}; }).then(function (b) { set("login-error", b.error || "Could not log in."); });
        $("login-password").value = "";
        start();
      });
  });
  function logout() {
    me = null;
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    fetch("/auth/logout", {method: "POST", credentials: "same-origin"}).finally(function () { show("login-view"); });
  }
  $("logout").addEventListener("click", logout);
  $("denied-logout").addEventListener("click", logout);
  start();
})();
