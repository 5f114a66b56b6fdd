// The rules of a style sheet that the site can use, by PurgeCSS (npm purgecss), for _ext/lean_styles.py.
//
// Reads from stdin a JSON object {css: "...", pages: ["<html>...", ...], scripts: ["...", ...]}
// and writes to stdout the style sheet without the rules whose selectors name a class, an
// id or an element that no page and no script the pages load contains: what the theme's
// scripts add as the reader uses the page (a dropdown's "show", the dark theme's
// data-theme="dark") is written in those scripts, so it stays. PurgeCSS's own extractor
// reads the words of each page and script; @font-face, @keyframes and custom properties
// are kept whole.
"use strict";

const { PurgeCSS } = require("purgecss");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const { css, pages, scripts } = JSON.parse(input);
  const content = [
    ...pages.map((raw) => ({ raw, extension: "html" })),
    ...scripts.map((raw) => ({ raw, extension: "js" })),
  ];
  const [result] = await new PurgeCSS().purge({ content, css: [{ raw: css }] });
  process.stdout.write(result.css);
});
