/** The render layer: the view model and its two back ends, plus the base class of result objects. */
export * from "./view";
export { renderText, visibleLength, type TextOptions } from "./text";
export { renderHTML, esc as escapeHTML } from "./html";
export { Renderable, display } from "./renderable";
