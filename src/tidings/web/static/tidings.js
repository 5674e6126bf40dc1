// The only script the pages run (the Content-Security-Policy allows no other).
// An article page tells the server the reader opened it: a POST carrying the session's
// CSRF token, so a link from another site (a plain GET) never marks a story read.
(function () {
  "use strict";
  var article = document.querySelector("[data-open-url]");
  if (!article) return;
  var body = new URLSearchParams({ csrf: article.dataset.csrf || "" });
  fetch(article.dataset.openUrl, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    keepalive: true,
  }).catch(function () {}); // offline or gone: the page itself still reads fine
})();
