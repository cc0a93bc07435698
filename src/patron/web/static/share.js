// The portal's share buttons (the referral page): the phone's share sheet (Web Share API)
// where the browser has one, else copy the link to the clipboard. Without this script the
// buttons stay hidden and the link is shown to copy by hand. No build step.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-share]").forEach(function (box) {
    var url = box.dataset.url;
    var status = box.querySelector("[data-share-status]");
    var share = box.querySelector("[data-share-button]");
    var copy = box.querySelector("[data-copy-button]");
    var field = box.querySelector("input");
    function say(text) { if (status) { status.textContent = text; } }
    function copyLink() {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(
          function () { say(box.dataset.copied); },
          function () { selectField(); }
        );
      } else {
        selectField();
      }
    }
    function selectField() {
      if (!field) { return; }
      field.focus();
      field.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (ignored) { copied = false; }
      say(copied ? box.dataset.copied : box.dataset.manual);
    }
    if (share && navigator.share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share({ title: box.dataset.title, text: box.dataset.text, url: url })
          .catch(function (error) { if (error && error.name !== "AbortError") { copyLink(); } });
      });
    }
    if (copy) {
      copy.hidden = false;
      copy.addEventListener("click", copyLink);
    }
  });
});
