// The policy editor, loaded when first shown: CodeMirror is most of its weight, and the roles view, which
// opens first, does not need it.

import { type ComponentProps, lazy, Suspense } from "react";
import type { PolicyEditor as Editor } from "./PolicyEditor.tsx";

const Loaded = lazy(() => import("./PolicyEditor.tsx").then((m) => ({ default: m.PolicyEditor })));

export function PolicyEditor(props: ComponentProps<typeof Editor>) {
  return (
    <Suspense
      fallback={
        <div className="policy-editor loading" role="status">
          <span className="spinner small" aria-hidden="true" /> Loading the editor…
        </div>
      }
    >
      <Loaded {...props} />
    </Suspense>
  );
}
