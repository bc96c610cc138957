// The development IdP's HTML: the login form and the error / sign-out pages. Self-contained (inline CSS, no
// scripts, no external resources); every interpolated value goes through escapeHtml.

import { DEMO_USERS } from "./users.ts";

export function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Headers for every page we render: no framing, no scripts, nothing cached. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const CSS = `*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#f1f5f9;color:#0f172a;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:min(380px,calc(100vw - 32px));background:#fff;border-radius:14px;padding:28px 28px 22px;
box-shadow:0 1px 2px rgba(15,23,42,.06),0 12px 32px rgba(15,23,42,.08)}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:18px;color:#475569;font-size:13px;font-weight:600;
letter-spacing:.04em;text-transform:uppercase}
.brand span{display:inline-grid;place-items:center;width:28px;height:28px;border-radius:8px;background:#1e3a8a;
color:#fff;font-size:15px;letter-spacing:0}
h1{font-size:20px;margin:0 0 4px}
p{margin:0 0 18px;color:#475569}
label{display:block;font-weight:600;font-size:14px;margin-bottom:6px}
input{width:100%;padding:10px 12px;border:1px solid #cbd5e1;border-radius:8px;font:inherit;color:inherit}
input:focus{outline:2px solid #2563eb;outline-offset:1px;border-color:#2563eb}
input[aria-invalid=true]{border-color:#dc2626}
button{width:100%;margin-top:16px;padding:10px 12px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;
font:inherit;font-weight:600;cursor:pointer}
button:hover{background:#1e40af}
button.secondary{margin-top:8px;background:transparent;color:#475569;font-weight:500}
button.secondary:hover{background:#f1f5f9}
.error{margin:0 0 16px;padding:9px 12px;border-radius:8px;background:#fef2f2;border:1px solid #fecaca;color:#991b1b}
details{margin-top:18px;font-size:13px;color:#475569}
summary{cursor:pointer}
ul{margin:8px 0 0;padding-left:18px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-word;background:#f8fafc;border-radius:8px;padding:10px;margin:0 0 10px}`;

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Gatehouse dev IdP</title>
<style>${CSS}</style>
</head>
<body>
<main>
<div class="brand"><span aria-hidden="true">G</span>Gatehouse dev IdP</div>
${body}
</main>
</body>
</html>
`;
}

export interface LoginFormInput {
  uid: string;
  clientName: string;
  email?: string;
  error?: string;
}

export function loginPage({ uid, clientName, email, error }: LoginFormInput): string {
  const action = `/interaction/${encodeURIComponent(uid)}`;
  const users = DEMO_USERS.map(
    (u) =>
      `<li><code>${escapeHtml(u.email)}</code> — ${u.groups.length ? escapeHtml(u.groups.join(", ")) : "no groups"}</li>`,
  ).join("");
  return page(
    "Sign in",
    `<h1>Sign in</h1>
<p>to continue to ${escapeHtml(clientName)}</p>
${error ? `<div class="error" role="alert" id="login-error">${escapeHtml(error)}</div>` : ""}
<form method="post" action="${escapeHtml(`${action}/login`)}" autocomplete="on">
<label for="login">Email</label>
<input id="login" name="login" type="email" inputmode="email" autocomplete="username" required autofocus
 value="${escapeHtml(email ?? "")}"${error ? ' aria-invalid="true" aria-describedby="login-error"' : ""}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(`${action}/abort`)}">
<button type="submit" class="secondary">Cancel</button>
</form>
<details><summary>Demo users</summary><ul>${users}</ul></details>`,
  );
}

export function messagePage(title: string, message: string, details?: Record<string, unknown>): string {
  const rows = Object.entries(details ?? {})
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `<pre><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</pre>`)
    .join("");
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n${rows}`);
}
