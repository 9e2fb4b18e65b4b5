// The console's own script: what htmx does not do by itself.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  if (xhr.status === 401) { window.location.href = "/console/login"; return; }
  var target = event.detail.target;
  if (target) {
    var p = document.createElement("p");
    p.className = "msg error";
    p.setAttribute("role", "alert");
    p.textContent = "HTTP " + xhr.status;
    target.prepend(p);
  }
});

// The staff inbox, live: the header's badge counts new items as the notification service stores
// them, and the inbox page shows them on top, without a reload. The stream (server-sent events,
// through the gateway) ends after a few minutes; EventSource reconnects by itself with Last-Event-ID.
document.addEventListener("DOMContentLoaded", function () {
  var badge = document.getElementById("inbox-badge");
  if (!badge || !window.EventSource) { return; }
  var source = new EventSource(badge.getAttribute("data-stream"));
  source.addEventListener("open", function () { badge.setAttribute("data-live", "1"); });
  source.addEventListener("error", function () { badge.setAttribute("data-live", "0"); });
  source.addEventListener("item", function (message) {
    var item = JSON.parse(message.data);
    badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1);
    var heading = document.getElementById("inbox-unread");
    if (heading) { heading.textContent = heading.textContent.replace(/^\d+/, function (n) { return String(+n + 1); }); }
    var list = document.getElementById("inbox-list");
    if (!list || document.getElementById("item-" + item.id)) { return; }
    var empty = document.getElementById("inbox-empty");
    if (empty) { empty.remove(); }
    var li = document.createElement("li");
    li.className = "inbox-item unread new kind-" + item.kind;
    li.id = "item-" + item.id;
    var title = document.createElement("strong");
    title.className = "title";
    title.textContent = item.title;
    var body = document.createElement("span");
    body.className = "body";
    body.textContent = item.body;
    var form = document.createElement("form");
    form.method = "post";
    form.className = "inline";
    form.action = list.getAttribute("data-base") + "/inbox/" + encodeURIComponent(item.id) + "/read";
    var button = document.createElement("button");
    button.className = "link mark-read";
    button.textContent = list.getAttribute("data-read-label");
    form.appendChild(button);
    li.append(title, " ", body, " ", form);
    list.prepend(li);
  });
});
