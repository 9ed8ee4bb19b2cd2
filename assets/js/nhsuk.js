// Starts NHS.UK frontend's components (the header's "More" menu, the skip link's focus) on browsers
// that run modules; a module script is the support test the design system's own template makes inline,
// which the content security policy forbids. Every page works without it.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
