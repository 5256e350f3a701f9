// bonepath: the little script the pages use (no library). Opens the form that the page
// reports a warning or a problem for, and scrolls to the message.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("dose-warning") || document.getElementById("problems");
  if (target) { target.scrollIntoView({ block: "start" }); }
});
