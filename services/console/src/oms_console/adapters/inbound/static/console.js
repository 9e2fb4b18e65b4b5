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
