// A "browser" for GATEHOUSE_BROWSER in tests: opens the sign-in URL (its last argument), fills the dev IdP's
// login form with $GATEHOUSE_TEST_LOGIN, and follows the redirects (cookies kept) to the agent's callback.

const email = process.env.GATEHOUSE_TEST_LOGIN;
const cookies = new Map();

async function request(url, form) {
  const headers = {};
  if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  if (form) headers["content-type"] = "application/x-www-form-urlencoded";
  const res = await fetch(url, {
    method: form ? "POST" : "GET",
    headers,
    redirect: "manual",
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const eq = pair.indexOf("=");
    const value = pair.slice(eq + 1).trim();
    if (value) cookies.set(pair.slice(0, eq).trim(), value);
    else cookies.delete(pair.slice(0, eq).trim());
  }
  return res;
}

let url = new URL(process.argv.at(-1));
let form;
for (let hops = 0; hops < 20; hops++) {
  const res = await request(url, form);
  form = undefined;
  const location = res.headers.get("location");
  if (res.status >= 300 && res.status < 400 && location) {
    await res.body?.cancel();
    url = new URL(location, url);
    continue;
  }
  const html = await res.text();
  const action = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
  if (!action || !email) process.exit(res.ok ? 0 : 1);
  url = new URL(action.replace(/&amp;/g, "&"), url);
  form = { login: email };
}
process.exit(1);
