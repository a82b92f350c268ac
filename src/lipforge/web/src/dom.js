// Tiny DOM helpers: build elements from tag, attributes and children; show a passing message.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  // Names and ids (file names, voices, hosts) are data, not words to translate.
  if (tag === "code" || /\b(file-name|data)\b/.test(node.className)) node.setAttribute("translate", "no");
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

let toastTimer = null;

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.className = `show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.className = "";
  }, 6000);
}

export function progressBar(fraction, label, name) {
  const pct = Math.max(0, Math.min(100, fraction * 100));
  return el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0,
    "aria-valuemax": 100, "aria-valuenow": Math.floor(pct), "aria-label": name || null,
    "aria-valuetext": label },
  el("div", { class: "fill", style: `width: ${pct.toFixed(1)}%` }),
  el("span", { class: "bar-label" }, label));
}

// A labelled form field: <label for=id>text</label> + control.
export function field(text, control, hint) {
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  return el("div", { class: "field" }, el("label", { for: control.id }, text), control,
    hint ? el("div", { class: "hint" }, hint) : null);
}
