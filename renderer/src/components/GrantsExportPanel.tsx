// "Export grants" for administrators (issue 17): every grant Gatehouse applied, as Terraform (import blocks
// and resources), CloudFormation or JSON — the same text as `gatehouse-broker grants export` — to copy
// or save, so that a platform team can bring what was granted back into its IaC.

import { useState } from "react";
import { GRANT_EXPORT_FORMATS, type GrantExportFormat } from "../../../shared/grants-export.ts";
import type { ResultOf } from "../../../shared/ipc.ts";
import { errorCode, errorText, gatehouse } from "../gatehouse.ts";
import type { ShowToast } from "../useToast.ts";

interface Props {
  toast: ShowToast;
  onSignedOut(): void;
}

const LABELS: Record<GrantExportFormat, string> = {
  terraform: "Terraform",
  cloudformation: "CloudFormation",
  json: "JSON",
};

/** A preview longer than this is cut (Copy and Save have it all): a 10 MB <pre> stalls the window. */
const PREVIEW_CHARS = 200_000;

export function GrantsExportPanel({ toast, onSignedOut }: Props) {
  const [format, setFormat] = useState<GrantExportFormat>("terraform");
  const [active, setActive] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ResultOf<"grantsExport"> | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setBusy(true);
    try {
      setResult(await gatehouse().grantsExport({ format, ...(active ? { active: true } : {}) }));
      setError(null);
    } catch (e) {
      if (errorCode(e) === "NOT_SIGNED_IN") onSignedOut();
      else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!result) return;
    try {
      await navigator.clipboard.writeText(result.text);
      toast("ok", "Copied", `${result.count} grants as ${LABELS[result.format]}`);
    } catch (e) {
      toast("error", "Could not copy", errorText(e));
    }
  };

  // The renderer saves as the Access review's CSV does: a download, which Electron asks where to put.
  const save = () => {
    if (!result) return;
    const type =
      result.format === "terraform" ? "text/plain;charset=utf-8" : "application/json;charset=utf-8";
    const url = URL.createObjectURL(new Blob([result.text], { type }));
    const a = document.createElement("a");
    a.href = url;
    a.download = result.fileName;
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    toast("ok", `Saved ${result.fileName}`);
  };

  return (
    <details className="grants-export" data-testid="grants-export">
      <summary>Export grants</summary>
      <p className="muted">
        Every grant Gatehouse applied, as the resources that hold it, with import blocks. Commit the permanent
        ones; the temporary ones expire by themselves.
      </p>
      <form
        aria-label="Export grants"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label>
          Format{" "}
          <select
            value={format}
            onChange={(e) => {
              setFormat(e.target.value as GrantExportFormat);
              setResult(null);
            }}
          >
            {GRANT_EXPORT_FORMATS.map((f) => (
              <option key={f} value={f}>
                {LABELS[f]}
              </option>
            ))}
          </select>
        </label>{" "}
        <label>
          <input
            type="checkbox"
            checked={active}
            onChange={(e) => {
              setActive(e.target.checked);
              setResult(null);
            }}
          />{" "}
          Not past their expiry only
        </label>{" "}
        <button type="submit" disabled={busy}>
          {busy ? "Exporting…" : "Export"}
        </button>
      </form>
      {error ? <p role="alert">{error}</p> : null}
      {result ? (
        <>
          <p data-testid="grants-export-summary">
            {result.count} grants · {LABELS[result.format]} · {result.fileName}{" "}
            <button type="button" onClick={() => void copy()}>
              Copy
            </button>{" "}
            <button type="button" onClick={save}>
              Save
            </button>
          </p>
          <pre className="grants-export-text" data-testid="grants-export-text">
            {result.text.length > PREVIEW_CHARS
              ? `${result.text.slice(0, PREVIEW_CHARS)}\n… (${result.text.length - PREVIEW_CHARS} more characters: Copy or Save has them all)`
              : result.text}
          </pre>
        </>
      ) : null}
    </details>
  );
}
