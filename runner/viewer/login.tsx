import type { Context, Hono } from "hono";
import { failureText } from "./access.ts";
import type { ViewerDeps } from "./deps.ts";
import { Page } from "./layout.tsx";

/** Only paths on this viewer: never send a person elsewhere after login. */
const safeNext = (next: string | undefined): string => (next && /^\/(?![/\\])/.test(next) ? next : "/");

export function LoginPage({ timeZone, next, message }: { timeZone: string; next: string; message?: string }) {
  return (
    <Page title="Log in" timeZone={timeZone}>
      <h1>Log in</h1>
      <p>This viewer is reachable from other machines, so it asks for its password (WEB_PASSWORD).</p>
      {message ? <p class="error" role="alert" id="login-error">{message}</p> : null}
      <form method="post" action="/login">
        <input type="hidden" name="next" value={next} />
        <p>
          <label>
            Password <input type="password" name="password" autocomplete="current-password" required autofocus />
          </label>{" "}
          <button type="submit">Log in</button>
        </p>
      </form>
    </Page>
  );
}

/** The answer to a request without the password: the login form, status 401 (or 429 when slowed down). */
export function refusedPage(timeZone: string) {
  return (c: Context, status: 401 | 429, message: string) => {
    const next = safeNext(c.req.method === "GET" ? c.req.path + (new URL(c.req.url).search || "") : "/");
    return c.html(<LoginPage timeZone={timeZone} next={next} {...(message ? { message } : {})} />, status);
  };
}

export function registerLogin(app: Hono, deps: ViewerDeps): void {
  const tz = deps.config.timeZone;
  app.get("/login", (c) => c.html(<LoginPage timeZone={tz} next={safeNext(c.req.query("next"))} />));
  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (!deps.access.enabled) return c.redirect(next, 303);
    const outcome = deps.access.login(c, typeof form.password === "string" ? form.password : "");
    if (outcome.ok) return c.redirect(next, 303);
    return c.html(<LoginPage timeZone={tz} next={next} message={failureText(outcome)} />, outcome.tooMany ? 429 : 401);
  });
  app.post("/logout", (c) => {
    deps.access.logout(c);
    return c.redirect("/login", 303);
  });
}
