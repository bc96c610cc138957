// The policy editor: CodeMirror 6 with JSON syntax, inline lint markers from the shared lint and action
// completion from the catalogue, both asked of main through window.gatehouse (the catalogue is not in the
// renderer's bundle). The editor lives in a shadow root: CodeMirror then puts its styles in a constructed
// style sheet there, which the window's CSP (style-src 'self', no inline <style>) allows.

import {
  autocompletion,
  type Completion,
  type CompletionContext,
  type CompletionResult,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
} from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { json } from "@codemirror/lang-json";
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { type Diagnostic, linter, lintGutter, lintKeymap } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { useEffect, useRef } from "react";
import type { MarkedLint } from "../../../shared/ipc.ts";
import { errorText, gatehouse } from "../gatehouse.ts";
import { actionPrefixAt } from "../requests/format.ts";

/** What lintPolicy accepts; longer text is not sent. */
const LINT_MAX = 20_000;
const LINT_DELAY_MS = 150;
const COMPLETION_LIMIT = 100;

export type LintState =
  | { kind: "checking" }
  | { kind: "done"; result: MarkedLint }
  | { kind: "failed"; error: string };

interface Props {
  /** The text; when it differs from the editor's, the editor takes it. */
  value: string;
  onChange?(text: string): void;
  /** Each lint result of the current text (or that it is being checked, or could not be). */
  onLint?(state: LintState): void;
  /** The accessible name of the text box. */
  label: string;
  readOnly?: boolean;
}

async function completeAction(ctx: CompletionContext): Promise<CompletionResult | null> {
  const before = ctx.state.sliceDoc(Math.max(0, ctx.pos - 4000), ctx.pos);
  const at = actionPrefixAt(before);
  if (!at || (!ctx.explicit && at.prefix === "")) return null;
  let list: Awaited<ReturnType<ReturnType<typeof gatehouse>["completeActions"]>>;
  try {
    list = await gatehouse().completeActions({ prefix: at.prefix, limit: COMPLETION_LIMIT });
  } catch {
    return null;
  }
  if (ctx.aborted) return null;
  const options: Completion[] = list.map((a) => ({
    label: a.action,
    detail: a.accessLevel,
    info: a.description,
    type: "keyword",
  }));
  const from = ctx.pos - at.prefix.length;
  // A full answer can be narrowed here as more is typed; a cut one has to be asked again.
  return list.length < COMPLETION_LIMIT
    ? { from, options, validFor: /^[A-Za-z0-9:*-]*$/ }
    : { from, options };
}

/** JSON colours from the app's palette, light and dark (light-dark() follows the window's colour scheme). */
const highlight = HighlightStyle.define([
  { tag: tags.propertyName, color: "light-dark(#1d4ed8, #8ab4ff)" },
  { tag: tags.string, color: "light-dark(#0f7a3d, #86e0a8)" },
  { tag: [tags.number, tags.bool, tags.null], color: "light-dark(#9a3412, #fdba74)" },
  { tag: [tags.separator, tags.squareBracket, tags.brace], color: "var(--text-2)" },
  { tag: tags.invalid, color: "var(--danger)" },
]);

const theme = EditorView.theme({
  "&": {
    height: "100%",
    backgroundColor: "var(--surface)",
    color: "var(--text)",
    border: "1px solid var(--border-strong)",
    borderRadius: "8px",
    fontSize: "12.5px",
  },
  "&.cm-focused": { outline: "2px solid var(--focus)", outlineOffset: "1px" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55", borderRadius: "8px" },
  ".cm-content": { caretColor: "var(--text)" },
  ".cm-cursor": { borderLeftColor: "var(--text)" },
  ".cm-gutters": {
    backgroundColor: "var(--surface-2)",
    color: "var(--muted)",
    borderRight: "1px solid var(--border)",
    borderRadius: "8px 0 0 8px",
  },
  ".cm-activeLine": { backgroundColor: "color-mix(in srgb, var(--accent-soft) 45%, transparent)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--accent-soft)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "color-mix(in srgb, var(--accent) 28%, transparent)",
  },
  ".cm-tooltip": {
    backgroundColor: "var(--surface)",
    color: "var(--text)",
    border: "1px solid var(--border-strong)",
    borderRadius: "6px",
    boxShadow: "var(--shadow)",
  },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": {
    backgroundColor: "var(--accent)",
    color: "var(--accent-fg)",
  },
  ".cm-completionDetail": { color: "var(--muted)", marginLeft: "8px", fontStyle: "normal" },
  ".cm-completionInfo": { maxWidth: "320px", fontFamily: "system-ui, sans-serif", fontSize: "12px" },
  ".cm-diagnostic": { fontFamily: "system-ui, sans-serif", fontSize: "12px" },
});

export function PolicyEditor({ value, onChange, onLint, label, readOnly = false }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const viewRef = useRef<EditorView | null>(null);
  const callbacks = useRef({ onChange, onLint });
  callbacks.current = { onChange, onLint };
  const initial = useRef(value);

  // The editor is made once per label and mode; the text arrives through the effect below.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const root = el.shadowRoot ?? el.attachShadow({ mode: "open" });
    let alive = true;
    let seq = 0;

    const lintSource = async (view: EditorView): Promise<Diagnostic[]> => {
      const text = view.state.doc.toString();
      const mine = ++seq;
      if (text.length > LINT_MAX) {
        callbacks.current.onLint?.({
          kind: "failed",
          error: `The policy has ${text.length} characters; at most ${LINT_MAX} can be checked.`,
        });
        return [];
      }
      let result: MarkedLint;
      try {
        result = await gatehouse().lintPolicy({ policy: text });
      } catch (e) {
        if (alive && mine === seq) callbacks.current.onLint?.({ kind: "failed", error: errorText(e) });
        return [];
      }
      // A reply for text that has changed since is stale: the next run answers for the new text.
      if (!alive || mine !== seq || view.state.doc.toString() !== text) return [];
      callbacks.current.onLint?.({ kind: "done", result });
      const len = view.state.doc.length;
      const clamp = (n: number) => Math.min(Math.max(n, 0), len);
      return result.findings.map((f) => ({
        from: clamp(f.from),
        to: clamp(Math.max(f.to, f.from)),
        severity: f.severity,
        message: f.message,
        source: f.code,
      }));
    };

    const attributes: Record<string, string> = { "aria-label": label };
    const view = new EditorView({
      root,
      parent: root,
      state: EditorState.create({
        doc: initial.current,
        extensions: [
          lineNumbers(),
          highlightActiveLine(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          closeBrackets(),
          json(),
          syntaxHighlighting(highlight),
          autocompletion({ override: [completeAction], icons: false }),
          linter(lintSource, { delay: LINT_DELAY_MS }),
          lintGutter(),
          keymap.of([
            ...closeBracketsKeymap,
            ...defaultKeymap,
            ...historyKeymap,
            ...completionKeymap,
            ...lintKeymap,
          ]),
          EditorState.tabSize.of(2),
          EditorState.readOnly.of(readOnly),
          EditorView.editable.of(!readOnly),
          EditorView.contentAttributes.of(attributes),
          EditorView.lineWrapping,
          theme,
          EditorView.updateListener.of((u) => {
            if (!u.docChanged) return;
            callbacks.current.onLint?.({ kind: "checking" });
            callbacks.current.onChange?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    viewRef.current = view;
    callbacks.current.onLint?.({ kind: "checking" });
    return () => {
      alive = false;
      view.destroy();
      viewRef.current = null;
    };
  }, [label, readOnly]);

  useEffect(() => {
    initial.current = value;
    const view = viewRef.current;
    if (view && view.state.doc.toString() !== value)
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
  }, [value]);

  return <div ref={host} className={`policy-editor${readOnly ? " read-only" : ""}`} />;
}
