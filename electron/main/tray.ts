// The tray icon and its menu: tray-menu.ts decides what the menu holds and what each item does; this
// file turns that model into an Electron Menu and rebuilds it when something changes (and every 30 s,
// so console windows' time left and expiry stay current).

import { join } from "node:path";
import { Menu, type MenuItemConstructorOptions, nativeImage, Tray } from "electron";
import {
  buildTrayMenu,
  runTrayAction,
  type TrayEffects,
  type TrayItem,
  type TrayModel,
  trayBadge,
  trayIconFile,
} from "./tray-menu.ts";

export interface TrayDeps {
  iconDir: string;
  model: () => Promise<TrayModel>;
  effects: TrayEffects;
  /** A failed action, in one line (shown as a notification). */
  report: (message: string) => void;
}

export interface AppTray {
  refresh(): void;
  destroy(): void;
}

export function createTray(deps: TrayDeps): AppTray {
  const image = nativeImage.createFromPath(join(deps.iconDir, trayIconFile(process.platform)));
  if (process.platform === "darwin") image.setTemplateImage(true);
  const tray = new Tray(image);
  tray.setToolTip("Gatehouse");
  // Windows and Linux: a click on the icon opens the window (the menu is on right-click there).
  if (process.platform !== "darwin") tray.on("click", () => deps.effects.showWindow());

  const act = (item: TrayItem & { type: "item" }) => () => {
    if (!item.action) return;
    runTrayAction(item.action, deps.effects)
      .then(() => refresh())
      .catch((e: Error) => deps.report(e.message));
  };
  const template = (items: TrayItem[]): MenuItemConstructorOptions[] =>
    items.map((item) =>
      item.type === "separator"
        ? { type: "separator" }
        : {
            label: item.label,
            enabled: item.enabled,
            ...(item.submenu ? { submenu: template(item.submenu) } : { click: act(item) }),
          },
    );

  let building = false;
  let again = false;
  const refresh = (): void => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    deps
      .model()
      .then((m) => {
        if (tray.isDestroyed()) return;
        tray.setContextMenu(Menu.buildFromTemplate(template(buildTrayMenu(m))));
        const badge = trayBadge(m);
        tray.setToolTip(badge.tooltip);
        if (process.platform === "darwin") tray.setTitle(badge.title);
      })
      .catch((e: Error) => deps.report(`the tray menu could not be built: ${e.message}`))
      .finally(() => {
        building = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  };

  const timer = setInterval(refresh, 30_000);
  refresh();
  return {
    refresh,
    destroy() {
      clearInterval(timer);
      tray.destroy();
    },
  };
}
