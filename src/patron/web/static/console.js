// Draws the plotly charts of a page: each element with data-figure holds its figure as JSON.
// plotly.js comes from the installed plotly package (/static/web/plotly/plotly.min.js).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") { return; }
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var figure = JSON.parse(element.dataset.figure);
    Plotly.newPlot(element, figure.data, figure.layout, {
      responsive: true, displaylogo: false, displayModeBar: false,
      locale: document.documentElement.lang
    });
  });
});
