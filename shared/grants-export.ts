// `grants export` (issue 17): what Gatehouse granted, as the IaC that would hold it. The formats and the
// query of the admin route, shared by the broker's command, its route and the tray (no zod in the
// renderer's path: its CSP forbids eval, so the renderer only imports the constants).

export const GRANT_EXPORT_FORMATS = ["terraform", "cloudformation", "json"] as const;
export type GrantExportFormat = (typeof GRANT_EXPORT_FORMATS)[number];

/** The file name an export is saved under: the format's usual extension. */
export function grantExportFileName(format: GrantExportFormat, generatedAt: string): string {
  const day = generatedAt.slice(0, 10);
  const ext = format === "terraform" ? "tf" : "json";
  const base = format === "cloudformation" ? "gatehouse-grants-cfn" : "gatehouse-grants";
  return `${base}-${day}.${ext}`;
}
