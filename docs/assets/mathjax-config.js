// MathJax 3 for the notebook pages ($...$ and $$...$$ as in Jupyter); all of it is in tex-svg-full.js, so
// nothing else is fetched.
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
  },
  options: { enableMenu: false },
  svg: { fontCache: "global" },
};
