// Punte live feed: adds activity streamed from /live/events (Server-Sent Events) to the list
// the server rendered: the node's own entries ("out") and activities received from partners
// ("in"). Without this script the page still shows the latest of both.
(function () {
  "use strict";
  var list = document.getElementById("live-list");
  var status = document.getElementById("live-status");
  if (!list || !status || !window.EventSource) {
    return;
  }
  var url = "/live/events?after=" + encodeURIComponent(list.getAttribute("data-after") || "-1") +
    "&after_in=" + encodeURIComponent(list.getAttribute("data-after-in") || "0");
  var source = new EventSource(url);

  function text(tag, content, className) {
    var el = document.createElement(tag);
    el.textContent = content;
    if (className) {
      el.className = className;
    }
    return el;
  }

  source.addEventListener("open", function () {
    status.textContent = status.getAttribute("data-connected");
  });
  source.addEventListener("error", function () {
    status.textContent = status.getAttribute("data-reconnecting");
  });
  source.addEventListener("entry", function (message) {
    var e;
    try {
      e = JSON.parse(message.data);
    } catch (err) {
      return;
    }
    if (!e.id || document.getElementById("live-" + e.id)) {
      return;
    }
    var item = document.createElement("li");
    item.className = "feed-item new " + e.direction;
    item.id = "live-" + e.id;
    item.appendChild(text("span", list.getAttribute("data-label-" + e.direction) || e.direction, "tag " + e.direction));
    item.appendChild(document.createTextNode(" "));
    if (e.direction === "in") {
      var from = text("a", list.getAttribute("data-label-from") || "from");
      from.href = e.href;
      item.appendChild(from);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(text("code", e.actor || "", "id"));
    } else {
      var link = text("a", (list.getAttribute("data-label-entry") || "#{n}").replace("{n}", String(e.index)));
      link.href = e.href;
      item.appendChild(link);
    }
    item.appendChild(document.createTextNode(" · "));
    item.appendChild(text("time", e.time));
    item.appendChild(document.createElement("br"));
    if (e.activity_type) {
      item.appendChild(text("strong", e.activity_type));
      if (e.object_type) {
        item.appendChild(document.createTextNode(" · " + e.object_type));
      }
      if (e.object_name) {
        item.appendChild(document.createTextNode(": "));
        var name = text("span", e.object_name);
        if (e.object_name_lang) {
          name.lang = e.object_name_lang;
        }
        item.appendChild(name);
      }
    } else {
      item.appendChild(text("span", e.kind + (e.note ? " " + e.note : "")));
    }
    if (e.object_id) {
      item.appendChild(document.createElement("br"));
      item.appendChild(text("code", e.object_id, "id"));
    }
    if (e.outcome) {
      item.appendChild(document.createElement("br"));
      var outcome = text("span", e.outcome, "meta");
      outcome.lang = "en";
      item.appendChild(outcome);
    }
    list.insertBefore(item, list.firstChild);
    var empty = document.getElementById("live-empty");
    if (empty) {
      empty.remove();
    }
    while (list.children.length > 200) {
      list.removeChild(list.lastChild);
    }
  });
})();
