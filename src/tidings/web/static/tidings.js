// The only script the pages run (the Content-Security-Policy allows no other, and no
// inline handlers): opening an article counts as read, pictures that fail give way to a
// placeholder, the feed has keyboard shortcuts, and "/" goes to the search box.
(function () {
  "use strict";

  function post(url, csrf) {
    // A POST carrying the session's CSRF token, so a link from another site (a plain GET)
    // never marks a story read; keepalive lets it finish while the page goes away.
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams({ csrf: csrf || "" }),
      credentials: "same-origin",
      keepalive: true,
    }).catch(function () {}); // offline or gone: the page itself still reads fine
  }

  // -- an article page tells the server the reader opened it --------------------------------
  var article = document.querySelector("article[data-open-url]");
  if (article) post(article.dataset.openUrl, article.dataset.csrf);

  // A headline-only card links out to its outlet: following it counts as opening it.
  var holder = document.querySelector("[data-csrf]");
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.out[data-open-url]");
    if (link && holder) post(link.dataset.openUrl, holder.dataset.csrf);
  });

  // -- pictures: a neutral placeholder instead of a broken image ---------------------------
  function failed(img) {
    var figure = img.closest(".photo");
    if (figure) figure.classList.add("missing");
    else img.remove(); // the thumbnail box under it is the placeholder
  }
  document.addEventListener(
    "error",
    function (event) {
      var img = event.target;
      if (img && img.tagName === "IMG" && img.closest(".thumb-box, .photo")) failed(img);
    },
    true // error events do not bubble: catch them on the way down
  );
  // Those that failed before this script ran (it is deferred).
  document.querySelectorAll(".thumb-box img, .photo img").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0 && img.currentSrc) failed(img);
  });

  // -- keyboard shortcuts ------------------------------------------------------------------
  var help = document.getElementById("shortcuts");
  var searchBox = document.querySelector("input[data-search]");
  var cards = Array.prototype.slice.call(document.querySelectorAll("[data-keys] > .card"));
  var current = -1;
  var REMEMBER = "tidings-card"; // where the reader was, across the reload an action makes

  function toggleHelp() {
    if (!help || typeof help.showModal !== "function") return;
    if (help.open) help.close();
    else help.showModal();
  }
  document.querySelectorAll("[data-help]").forEach(function (button) {
    button.addEventListener("click", toggleHelp);
  });

  function focusCard(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    var card = cards[current];
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function act(kind) {
    var card = cards[current];
    if (!card) return;
    var form = card.querySelector("form[data-act='" + kind + "']");
    if (!form) return;
    try {
      // the story itself if it is still there (saved), else the place it had (hidden)
      sessionStorage.setItem(REMEMBER, JSON.stringify({ at: current, story: card.dataset.story }));
    } catch (e) {} // storage refused: the page still works, from the top
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (help && help.open) return;
    if (event.key === "/" && searchBox) {
      // to the search box from anywhere but a field (where "/" is just typed)
      event.preventDefault();
      searchBox.focus();
      searchBox.select();
      return;
    }
    if (!cards.length) return;
    var within = cards.indexOf(document.activeElement && document.activeElement.closest(".card"));
    if (within >= 0) current = within;
    switch (event.key) {
      case "j":
        focusCard(current + 1);
        break;
      case "k":
        focusCard(current < 0 ? 0 : current - 1);
        break;
      case "o":
        if (current >= 0) cards[current].querySelector("h2 a").click();
        break;
      case "s":
        act("save");
        break;
      case "h":
        act("hide");
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Back on the feed after "s" or "h": the same place (the next story, after a hide).
  var remembered = null;
  try {
    remembered = sessionStorage.getItem(REMEMBER);
    sessionStorage.removeItem(REMEMBER);
  } catch (e) {}
  if (remembered !== null && cards.length) {
    var place = {};
    try {
      place = JSON.parse(remembered) || {};
    } catch (e) {}
    var same = cards.findIndex(function (card) {
      return card.dataset.story === place.story;
    });
    focusCard(same >= 0 ? same : Number(place.at) || 0);
  }
})();
