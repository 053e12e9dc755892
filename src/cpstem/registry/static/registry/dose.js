// Live dose line on the cell-administration form: "= N total cells = N cells/kg", and whether
// the dose lies outside the published range of the chosen product (the server checks again on
// save and asks for confirmation). A static file: no inline script (Content-Security-Policy).
(function () {
  "use strict";
  const out = document.getElementById("dose-line");
  const count = document.getElementById("id_cell_count");
  const weight = document.getElementById("id_weight_kg");
  const product = document.getElementById("id_product");
  if (!out || !count || !weight) return;
  const form = count.form;
  // show the line right under the weight field
  const weightField = weight.closest(".field");
  if (weightField && weightField.parentNode) {
    weightField.parentNode.insertBefore(out, weightField.nextSibling);
  }
  let ranges = {};
  try { ranges = JSON.parse(out.dataset.ranges || "{}"); } catch (e) { ranges = {}; }

  const SCI = /^(\d+(?:[.,]\d+)?)\s*(?:[x×*]\s*10\s*(?:\^|\*\*|e)?\s*([+-]?\d+))?$/i;

  // the cell count as the server reads it (cpstem.outcomes.dose.parse_cell_count)
  function parseCount(text) {
    text = text.trim().replace(/\u2009/g, " ");
    if (!text || /[^\x20-\x7e×]/.test(text)) return NaN;
    const plain = text.replace(/[ _]/g, "");
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(plain)) return Number(plain);
    if (/^\d{1,3}([ ,]\d{3})+$/.test(text)) return Number(text.replace(/[ ,]/g, ""));
    const m = SCI.exec(text);
    if (!m) return NaN;
    return Number(m[1].replace(",", ".")) * Math.pow(10, Number(m[2] || 0));
  }

  // 4.8 x 10^8, as cpstem.outcomes.dose.sci writes it
  function sci(x) {
    if (!isFinite(x) || x <= 0) return String(x);
    const exp = Math.floor(Math.log10(x));
    const mant = Number((x / Math.pow(10, exp)).toPrecision(3));
    return String(mant) + " x 10^" + exp;
  }

  function describe(r) {
    let text = r.min_per_kg === r.max_per_kg ? sci(r.min_per_kg)
      : sci(r.min_per_kg) + "-" + sci(r.max_per_kg);
    text += " cells/kg";
    if (r.min_total !== null && r.max_total !== null) {
      text += " or a fixed " + (r.min_total === r.max_total ? sci(r.min_total)
        : sci(r.min_total) + "-" + sci(r.max_total)) + " cells";
    }
    return text;
  }

  function inside(r, total, perKg) {
    const tol = 1e-9;
    if (perKg >= r.min_per_kg * (1 - tol) && perKg <= r.max_per_kg * (1 + tol)) return true;
    if (r.min_total === null || r.max_total === null) return false;
    return total >= r.min_total * (1 - tol) && total <= r.max_total * (1 + tol);
  }

  function update() {
    const value = parseCount(count.value);
    const kg = Number(String(weight.value).trim());
    const unit = (form.querySelector("input[name=cell_count_unit]:checked") || {}).value;
    out.classList.remove("warn");
    if (!count.value.trim() || !weight.value.trim()) {
      out.textContent = "Enter the cell count and the weight to see the dose.";
      return;
    }
    if (!(value > 0) || !(kg > 0)) {
      out.textContent = "The count or the weight is not a number.";
      return;
    }
    const perKg = unit === "per_kg" ? value : value / kg;
    const total = unit === "per_kg" ? value * kg : value;
    if (!isFinite(perKg) || !isFinite(total)) {
      out.textContent = "The dose is too large to be a number of cells: check the exponent.";
      out.classList.add("warn");
      return;
    }
    let text = "= " + sci(total) + " total cells = " + sci(perKg) + " cells/kg";
    const r = ranges[product && product.value] || ranges.overall;
    if (r && !inside(r, total, perKg)) {
      text += " · outside the published range of " + r.label + " (" + describe(r) +
        "): check total vs per kg; saving asks you to confirm the dose";
      out.classList.add("warn");
    }
    out.textContent = text;
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
