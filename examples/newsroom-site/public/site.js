// What the page does in the reader's browser: count the view, report what the reader did with a
// donation prompt, copy and print, and keep a live story's entries fresh. Everything goes
// straight to Newsdesk (data-api), which allows this site's origin.
(function () {
  "use strict";
  var body = document.body;
  var api = body.dataset.api;
  var lang = body.dataset.lang;
  var slug = body.dataset.slug;
  var isPreview = body.dataset.preview === "true";

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      headers: payload ? { "content-type": "application/json" } : {},
      body: payload ? JSON.stringify(payload) : undefined,
      keepalive: true,
      mode: "cors",
    }).catch(function () {});
  }

  // The view beacon: one per page load; Newsdesk counts one per reader and window.
  if (slug && !isPreview) {
    post(api + "/api/v1/articles/" + encodeURIComponent(lang) + "/" + encodeURIComponent(slug) + "/views");
  }

  // Donation prompts: an impression when seen, a click, or a dismissal remembered for a while.
  function eventsUrl(el) {
    return api + "/api/v1/donation-prompts/" + el.dataset.promptId + "/events";
  }
  function report(el, type) {
    if (isPreview) return Promise.resolve();
    return post(eventsUrl(el), { type: type, lang: el.dataset.promptLang });
  }
  var prompts = Array.prototype.slice.call(document.querySelectorAll("[data-prompt-id]"));
  prompts.forEach(function (el) {
    var key = "prompt-dismissed-" + el.dataset.promptId;
    var until = Number(localStorage.getItem(key) || 0);
    if (until > Date.now()) {
      el.hidden = true;
      return;
    }
    var seen = false;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting && !seen) {
          seen = true;
          el.dataset.impression = "sent";
          report(el, "impression");
          observer.disconnect();
        }
      });
    }, { threshold: 0.5 });
    observer.observe(el);
    var button = el.querySelector("[data-prompt-click]");
    if (button) {
      button.addEventListener("click", function (ev) {
        ev.preventDefault();
        var href = button.getAttribute("href");
        var sent = seen ? Promise.resolve() : report(el, "impression");
        seen = true;
        sent.then(function () { return report(el, "click"); }).then(function () {
          el.dataset.clicked = "sent";
          if (href) window.location.assign(href);
        });
      });
    }
    var dismiss = el.querySelector("[data-prompt-dismiss]");
    if (dismiss) {
      dismiss.addEventListener("click", function () {
        var days = Number(el.dataset.dismissDays || 7);
        localStorage.setItem(key, String(Date.now() + days * 86400000));
        report(el, "dismiss");
        el.hidden = true;
      });
    }
  });

  // Copy link and print.
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var done = function () { b.textContent = b.dataset.copied; };
      if (navigator.clipboard) navigator.clipboard.writeText(b.dataset.copy).then(done, done);
      else done();
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  // A live story: ask for newer entries every 15 seconds and put them on top.
  var list = document.querySelector("[data-live-entries]");
  if (list && body.dataset.live === "true") {
    var cursor = null;
    var known = {};
    list.querySelectorAll("[data-entry-id]").forEach(function (e) { known[e.dataset.entryId] = true; });
    var refresh = function () {
      var url = api + "/api/v1/articles/" + encodeURIComponent(lang) + "/" + encodeURIComponent(slug) + "/entries";
      if (cursor) url += "?since=" + encodeURIComponent(cursor);
      fetch(url, { mode: "cors" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (page) {
        if (!page) return;
        if (page.cursor) cursor = page.cursor;
        page.items.slice().reverse().forEach(function (entry) {
          if (known[entry.id]) return;
          known[entry.id] = true;
          var article = document.createElement("article");
          article.className = "entry new";
          article.dataset.entryId = entry.id;
          var meta = document.createElement("p");
          meta.className = "meta";
          var time = document.createElement("time");
          time.dateTime = entry.created_at;
          time.textContent = new Date(entry.created_at).toLocaleString(lang);
          meta.appendChild(time);
          article.appendChild(meta);
          // Entry bodies are HTML that Newsdesk sanitized when they were written.
          var content = document.createElement("div");
          content.innerHTML = entry.body;
          article.appendChild(content);
          list.insertBefore(article, list.firstChild);
        });
      }).catch(function () {});
    };
    refresh();
    setInterval(refresh, 15000);
  }
})();
