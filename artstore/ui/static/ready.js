// Pages without a script of their own: the data is in the HTML, so the view is ready once
// the document is parsed (the readiness contract of docs/ui.md).
"use strict";
document.documentElement.dataset.ready = "1";
