// Everything a customer or the bot writes is put in the page with textContent: never as HTML.
const log = document.getElementById("log");
const typing = document.getElementById("typing");
const input = document.getElementById("text");
let ws, conversationId = localStorage.getItem("carebot.page.conversation");

function add(cls, text) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}
function showBot(m) {
  const div = add(m.sender === "agent" ? "agent" : "bot", m.text || "");
  if (m.buttons) {
    const row = document.createElement("div"); row.className = "buttons";
    for (const b of m.buttons) {
      const btn = document.createElement("button");
      btn.textContent = b.title;
      btn.onclick = () => send(b.payload, b.title);
      row.appendChild(btn);
    }
    div.appendChild(row);
  }
  if (m.custom && m.custom.products) {
    for (const p of m.custom.products) {
      const card = document.createElement("div"); card.className = "card";
      card.textContent = p.name + " — $" + p.price;
      div.appendChild(card);
    }
  }
}
function send(text, shown) {
  add("user", shown || text);
  ws.send(JSON.stringify({type: "message", text, id: crypto.randomUUID ? crypto.randomUUID() : undefined}));
}
function connect() {
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => ws.send(JSON.stringify({type: "hello", conversation_id: conversationId,
                                            token: localStorage.getItem("carebot.page.token")}));
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "welcome") {
      conversationId = m.conversation_id;
      localStorage.setItem("carebot.page.conversation", conversationId);
      localStorage.setItem("carebot.page.token", m.token);
      log.textContent = "";
      for (const h of m.history) h.sender === "user" ? add("user", h.text) : showBot(h);
    } else if (m.type === "bot" || m.type === "agent") showBot(m);
    else if (m.type === "typing") typing.textContent = m.on ? "Carebot is typing…" : "";
    else if (m.type === "error") add("notice", m.error);
  };
  ws.onclose = () => setTimeout(connect, 1000);
}
document.getElementById("send").onsubmit = (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (text && ws && ws.readyState === 1) { send(text); input.value = ""; }
};
connect();
