// Punte live feed: adds entries streamed from /live/events (Server-Sent Events) to the list
// the server rendered. Without this script the page still shows the latest entries.
(function () {
  "use strict";
  var list = document.getElementById("live-list");
  var status = document.getElementById("live-status");
  if (!list || !status || !window.EventSource) {
    return;
  }
  var url = "/live/events?after=" + encodeURIComponent(list.getAttribute("data-after") || "-1");
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
    var item = document.createElement("li");
    item.className = "feed-item new " + e.direction;
    item.value = e.index + 1;
    item.appendChild(text("span", list.getAttribute("data-label-" + e.direction) || e.direction, "tag " + e.direction));
    item.appendChild(document.createTextNode(" "));
    var link = text("a", (list.getAttribute("data-label-entry") || "#{n}").replace("{n}", String(e.index)));
    link.href = e.href;
    item.appendChild(link);
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
