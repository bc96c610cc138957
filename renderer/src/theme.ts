// Applies the theme setting: "system" leaves it to prefers-color-scheme (styles.css), the others force it.

import type { UiSettings } from "../../shared/ipc.ts";

export function applyTheme(theme: UiSettings["theme"]): void {
  document.documentElement.dataset.theme = theme;
}
