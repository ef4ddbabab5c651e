// MathJax 3 for the notebook pages ($...$ and $$...$$ as in Jupyter); all of it is in tex-svg-full.js, so
// nothing else is fetched.
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
  },
  // the copy-button text of a code cell is raw source, never math
  options: { enableMenu: false, ignoreHtmlClass: "tex2jax_ignore|clipboard-copy-txt" },
  svg: { fontCache: "global" },
};
