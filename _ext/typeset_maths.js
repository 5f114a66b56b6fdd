// Typeset TeX as SVG with MathJax (npm mathjax-full), for _ext/build_time_maths.py.
//
// Reads from stdin a JSON object {tex: {...MathJax TeX options}, pages: [[[tex, display], ...], ...]}
// and writes to stdout {css, pages: [{maths: [html, ...], defs, errors: [[index, message], ...]}, ...]}.
// Each equation becomes an <mjx-container role="img"> holding the SVG, hidden from
// screen readers, and named for them by its aria-label: the equation in words, as the
// Speech Rule Engine (npm speech-rule-engine, the one MathJax's own accessibility
// tools use) reads the equation's MathML ("x squared plus one half"). The glyph
// outlines a page uses are written once, in `defs`, a hidden <svg> that the page must
// contain. A TeX error (an undefined macro included) is reported in `errors`, never drawn.
//
// The page gets fewer elements to lay out, which on a phone is most of the time a long
// chapter takes to show: the label stands in for MathJax's assistive MathML (as many
// elements again as the drawing), and the SVG is MathJax's with its bookkeeping groups
// taken out: a <g> that only names its MathML node is replaced by its children, and a
// <g> that only moves one glyph hands its transform to that glyph. The drawing is the same.
"use strict";

const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { SVG } = require("mathjax-full/js/output/svg.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { AssistiveMmlHandler } = require("mathjax-full/js/a11y/assistive-mml.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");
const sre = require("speech-rule-engine");

// The packages MathJax's browser build (tex-mml-chtml.js) loads or autoloads, less two:
// without noerrors and noundefined, a TeX error or an unknown macro is reported, not drawn
// in red on the page. textmacros is not among them: in the browser \text{...} is plain text.
const LEFT_OUT = new Set(["noerrors", "noundefined", "textmacros"]);
const PACKAGES = AllPackages.filter((name) => !LEFT_OUT.has(name));

const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));

// Groups that MathJax's style rules select (error colours, table lines, toggles).
const STYLED = new Set(["merror", "mtable", "maction"]);
const NAMING = new Set(["data-mml-node", "data-mjx-texclass"]);

function flatten(node) {
  if (adaptor.kind(node) === "#text") return;
  adaptor.childNodes(node).forEach(flatten);
  if (adaptor.kind(node) !== "g" || STYLED.has(adaptor.getAttribute(node, "data-mml-node"))) return;
  const names = adaptor.allAttributes(node).map((attribute) => attribute.name);
  const children = adaptor.childNodes(node);
  if (names.every((name) => NAMING.has(name))) {
    children.forEach((child) => adaptor.insert(child, node));
    adaptor.remove(node);
  } else if (
    names.every((name) => NAMING.has(name) || name === "transform") &&
    children.length === 1 &&
    adaptor.kind(children[0]) === "use" &&
    !adaptor.hasAttribute(children[0], "transform")
  ) {
    adaptor.setAttribute(children[0], "transform", adaptor.getAttribute(node, "transform"));
    adaptor.replace(children[0], node);
  }
}

const spoken = new Map(); // MathML -> words, as equations repeat across a book

function speech(mathml) {
  if (!spoken.has(mathml)) spoken.set(mathml, sre.toSpeech(mathml).trim());
  return spoken.get(mathml);
}

// The container named by the words of its assistive MathML, which it then drops.
function label(node) {
  const assistive = adaptor.childNodes(node).find((child) => adaptor.kind(child) === "mjx-assistive-mml");
  const words = speech(adaptor.outerHTML(adaptor.firstChild(assistive)));
  adaptor.remove(assistive);
  adaptor.setAttribute(node, "role", "img");
  adaptor.setAttribute(node, "aria-label", words);
  adaptor.removeAttribute(node, "style"); // position: relative, for the MathML only
  const svg = adaptor.firstChild(node);
  adaptor.removeAttribute(svg, "role"); // the container is the image
  // An <svg> inside HTML needs no namespace declarations, and focusable="false" was for IE.
  for (const name of ["xmlns", "xmlns:xlink", "focusable"]) adaptor.removeAttribute(svg, name);
}

// A displayed equation wider than this may be wider than a phone's column; the theme lets
// it scroll sideways, and a region that scrolls must take the keyboard focus to be read
// (MathJax in the browser made every equation focusable, for its menu).
const PHONE_COLUMN_EX = 40;

function focusableIfWide(node) {
  const width = parseFloat(adaptor.getAttribute(adaptor.firstChild(node), "width"));
  if (width > PHONE_COLUMN_EX) adaptor.setAttribute(node, "tabindex", "0");
}

function typesetPage(maths, texOptions) {
  let failure = null;
  const tex = new TeX({
    ...texOptions,
    packages: PACKAGES,
    formatError(jax, error) {
      failure = error.message;
      return jax.formatError(error);
    },
  });
  const svg = new SVG({ fontCache: "global" });
  const page = mathjax.document("", { InputJax: tex, OutputJax: svg });
  const result = { maths: [], defs: "", errors: [] };
  maths.forEach(([source, display], index) => {
    failure = null;
    const node = page.convert(source, { display });
    if (failure !== null) {
      result.errors.push([index, failure]);
      result.maths.push("");
    } else {
      flatten(node);
      label(node);
      if (display) focusableIfWide(node);
      result.maths.push(adaptor.outerHTML(node));
    }
  });
  if (maths.length) {
    result.defs = adaptor.outerHTML(svg.pageElements(page));
  }
  return { result, css: adaptor.textContent(svg.styleSheet(page)) };
}

async function main(input) {
  const request = JSON.parse(input);
  await sre.setupEngine({ locale: "en", domain: "clearspeak", modality: "speech" });
  await sre.engineReady();
  const output = { css: "", pages: [] };
  for (const maths of request.pages) {
    const { result, css } = typesetPage(maths, request.tex || {});
    output.pages.push(result);
    output.css = output.css || css;
  }
  process.stdout.write(JSON.stringify(output));
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () =>
  main(input).catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  }),
);
