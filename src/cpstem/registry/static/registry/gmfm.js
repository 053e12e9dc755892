// Live GMFM-88 scores while the sheet is filled in (the server recomputes on save).
(function () {
  const form = document.getElementById("gmfm88-form");
  if (!form) return;
  const out = document.getElementById("live-scores");
  function update() {
    const parts = [];
    let sum = 0, n = 0, nt = 0;
    form.querySelectorAll("fieldset.dim").forEach(function (fs) {
      let raw = 0;
      fs.querySelectorAll("input[type=radio]:checked").forEach(function (r) {
        if (r.value === "NT") { nt += 1; } else { raw += parseInt(r.value, 10); }
      });
      const pct = 100 * raw / parseInt(fs.dataset.max, 10);
      sum += pct; n += 1;
      parts.push(fs.dataset.code + " " + pct.toFixed(1) + " %");
    });
    out.textContent = parts.join(" · ") + " · Total " + (sum / n).toFixed(1) + " % · NT " + nt;
  }
  form.addEventListener("change", update);
  update();
})();
