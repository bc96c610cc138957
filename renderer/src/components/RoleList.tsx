// The virtualised roles list: only the rows in view (and a few around) are in the DOM, so 10,000 roles
// scroll and filter as fast as ten. Keyboard: arrows / Page / Home / End move between roles (roving
// tabindex), Enter opens the console, F stars, P / C / E copy; Escape goes back to the search box.

import { useVirtualizer } from "@tanstack/react-virtual";
import {
  type FocusEvent,
  type KeyboardEvent,
  type Ref,
  useCallback,
  useEffect,
  useImperativeHandle,
  useMemo,
  useRef,
  useState,
} from "react";
import type { Row } from "../roles/search.ts";
import { GroupHeader } from "./GroupHeader.tsx";
import { type RoleActions, RoleRowView } from "./RoleRowView.tsx";

export const ROLE_ROW_HEIGHT = 60;
const ACCOUNT_ROW_HEIGHT = 38;
const SECTION_ROW_HEIGHT = 40;
const PAGE = 8;

export interface RoleListHandle {
  /** Focus the first role (the search box's ArrowDown and Enter). */
  focusFirst(): void;
}

interface Props {
  rows: readonly Row[];
  terms: readonly string[];
  favourites: ReadonlySet<string>;
  actions: RoleActions;
  label: string;
  onEscape(): void;
  ref?: Ref<RoleListHandle>;
}

function rowHeight(row: Row | undefined): number {
  if (row?.kind === "role") return ROLE_ROW_HEIGHT;
  return row?.kind === "section" ? SECTION_ROW_HEIGHT : ACCOUNT_ROW_HEIGHT;
}

/** The nearest role row from `from` in direction `step` (±1), or -1. */
function nextRole(rows: readonly Row[], from: number, step: 1 | -1): number {
  for (let i = from; i >= 0 && i < rows.length; i += step) if (rows[i]!.kind === "role") return i;
  return -1;
}

export function RoleList({ rows, terms, favourites, actions, label, onEscape, ref }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const pendingFocus = useRef<string | null>(null);

  // New functions when the rows change: the virtualiser recomputes its measurements exactly then.
  const estimateSize = useCallback((i: number) => rowHeight(rows[i]), [rows]);
  const getItemKey = useCallback((i: number) => rows[i]?.key ?? i, [rows]);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    getItemKey,
    overscan: 3,
  });

  const activeIndex = useMemo(() => {
    if (activeKey !== null) {
      for (let i = 0; i < rows.length; i++) if (rows[i]!.key === activeKey) return i;
    }
    return nextRole(rows, 0, 1);
  }, [rows, activeKey]);

  const moveTo = useCallback(
    (index: number) => {
      const row = rows[index];
      if (!row) return;
      setActiveKey(row.key);
      pendingFocus.current = row.key;
      virtualizer.scrollToIndex(index, { align: "auto" });
    },
    [rows, virtualizer],
  );

  useImperativeHandle(ref, () => ({ focusFirst: () => moveTo(nextRole(rows, 0, 1)) }), [rows, moveTo]);

  // Focus follows the active row once it is rendered (scrolling to it may take a frame or two).
  useEffect(() => {
    let tries = 0;
    let frame = 0;
    const attempt = () => {
      const key = pendingFocus.current;
      if (key === null) return;
      const el = scrollRef.current?.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
      if (el) {
        pendingFocus.current = null;
        el.focus({ preventScroll: true });
      } else if (tries++ < 10) frame = requestAnimationFrame(attempt);
    };
    attempt();
    return () => cancelAnimationFrame(frame);
  });

  // A new query starts at the top of its results. The virtualiser knows the offset from scroll events:
  // asking the element would force a layout in the middle of a keystroke.
  const query = terms.join(" ");
  const lastQuery = useRef(query);
  useEffect(() => {
    if (lastQuery.current === query) return;
    lastQuery.current = query;
    if ((virtualizer.scrollOffset ?? 0) > 0) virtualizer.scrollToOffset(0);
  }, [query, virtualizer]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const target = e.target as HTMLElement;
    const rowEl = target.closest<HTMLElement>("[data-index]");
    if (!rowEl) return;
    const index = Number(rowEl.dataset.index);
    const row = rows[index];
    const onRow = target === rowEl;
    const plain = !e.ctrlKey && !e.metaKey && !e.altKey;
    let to = -1;
    switch (e.key) {
      case "ArrowDown":
        to = nextRole(rows, index + 1, 1);
        break;
      case "ArrowUp":
        to = nextRole(rows, index - 1, -1);
        break;
      case "PageDown":
        to = nextRole(rows, Math.min(rows.length - 1, index + PAGE), 1);
        if (to === -1) to = nextRole(rows, rows.length - 1, -1);
        break;
      case "PageUp":
        to = nextRole(rows, Math.max(0, index - PAGE), -1);
        if (to === -1) to = nextRole(rows, 0, 1);
        break;
      case "Home":
        to = nextRole(rows, 0, 1);
        break;
      case "End":
        to = nextRole(rows, rows.length - 1, -1);
        break;
      case "Escape":
        e.preventDefault();
        onEscape();
        return;
      default:
        if (row?.kind !== "role" || !plain) return;
        if (e.key === "Enter" && onRow) actions.openConsole(row.role);
        else if (e.key === "f" || e.key === "F") actions.toggleFavourite(row.role);
        else if (e.key === "p" || e.key === "P") actions.copy(row.role, "profile");
        else if (e.key === "c" || e.key === "C") actions.copy(row.role, "credentialProcess");
        else if (e.key === "e" || e.key === "E") actions.copy(row.role, "envExport");
        else return;
        e.preventDefault();
        return;
    }
    e.preventDefault();
    if (to !== -1) moveTo(to);
  };

  const onFocus = (e: FocusEvent<HTMLDivElement>) => {
    const key = (e.target as HTMLElement).closest<HTMLElement>(".role-row")?.dataset.key;
    if (key && key !== activeKey) setActiveKey(key);
  };

  const items = virtualizer.getVirtualItems();
  return (
    // Keys and focus are handled here for every row (roving tabindex), not on each row.
    // biome-ignore lint/a11y/noStaticElementInteractions: the rows inside are the focusable, labelled elements.
    <div className="list-scroll" ref={scrollRef} onKeyDown={onKeyDown} onFocus={onFocus}>
      <ul aria-label={label} className="list-inner" style={{ height: `${virtualizer.getTotalSize()}px` }}>
        {items.map((item) => {
          const row = rows[item.index]!;
          if (row.kind !== "role")
            return <GroupHeader key={row.key} row={row} index={item.index} start={item.start} />;
          return (
            <RoleRowView
              key={row.key}
              row={row}
              index={item.index}
              start={item.start}
              active={item.index === activeIndex}
              favourite={favourites.has(row.role.ref)}
              terms={terms}
              actions={actions}
            />
          );
        })}
      </ul>
    </div>
  );
}
