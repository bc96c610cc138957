// One toast at a time: a new one replaces the last; each goes away on its own after a few seconds.

import { useCallback, useEffect, useRef, useState } from "react";
import type { ToastMessage } from "./components/Toast.tsx";

const SHOWN_MS = { ok: 2500, error: 6000 } as const;

export type ShowToast = (kind: ToastMessage["kind"], title: string, detail?: string) => void;

export function useToast(): [ToastMessage | null, ShowToast, () => void] {
  const [toast, setToast] = useState<ToastMessage | null>(null);
  const next = useRef(0);
  const timer = useRef<number | undefined>(undefined);
  const dismiss = useCallback(() => {
    window.clearTimeout(timer.current);
    setToast(null);
  }, []);
  const show = useCallback<ShowToast>((kind, title, detail) => {
    window.clearTimeout(timer.current);
    setToast({ id: ++next.current, kind, title, ...(detail ? { detail } : {}) });
    timer.current = window.setTimeout(() => setToast(null), SHOWN_MS[kind]);
  }, []);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return [toast, show, dismiss];
}
