/**
 * The dashboard's page: a static shell the script fills in. No inline script or style (the CSP
 * forbids both), no external asset: it works on an offline machine.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>dispatcher</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand">
    <span class="mark" aria-hidden="true"></span>
    <h1>dispatcher</h1>
    <span id="mode" class="badge">…</span>
    <span id="tracker-name" class="muted"></span>
  </div>
  <div class="conn" id="conn" data-state="connecting" role="status" aria-live="polite">connecting…</div>
</header>
<main>
  <div id="banner" class="banner" role="alert" hidden></div>
  <section id="cards" class="cards" aria-label="Summary"></section>
  <section id="running-panel" class="panel">
    <h2>Running agents <span class="count" id="running-count"></span></h2>
    <div class="table-wrap" id="running"></div>
  </section>
  <section id="waiting-panel" class="panel" hidden>
    <h2>Waiting to retry <span class="count" id="waiting-count"></span></h2>
    <div class="table-wrap" id="waiting"></div>
  </section>
  <div class="columns">
    <section id="recent-panel" class="panel">
      <h2><span id="recent-title">Recent runs</span> <span class="count" id="recent-count"></span></h2>
      <div class="table-wrap scroll" id="recent"></div>
    </section>
    <section id="groups-panel" class="panel">
      <h2 id="groups-title">By route</h2>
      <div class="table-wrap" id="groups"></div>
      <div id="daemons" class="daemons"></div>
    </section>
  </div>
  <section id="log-panel" class="panel">
    <h2>Live log <span class="count" id="log-count"></span></h2>
    <div id="log" class="log" role="log" tabindex="0"></div>
  </section>
</main>
<footer class="foot"><span id="footer"></span></footer>
</body>
</html>
`;

/** The answer to a browser without a session: how to sign in, with no secret in it. */
export function signInPage(rejected: boolean): string {
  return SIGN_IN_HTML.replace('<!--reason-->', rejected ? '<p class="bad">That token was not accepted: it must be the operator token.</p>' : '');
}

const SIGN_IN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>dispatcher: sign in</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
</head>
<body>
<main class="sign-in">
  <h1>dispatcher</h1>
  <!--reason-->
  <p>This dashboard needs the operator token. Open it once as</p>
  <pre>http://HOST:PORT/?token=&lt;operator token&gt;</pre>
  <p>The token is in <code>operator-token</code> in the dispatcher's <code>state_dir</code>
  (<code>cat .dispatcher/operator-token</code>). The browser then keeps a session cookie and the
  token leaves the address bar.</p>
</main>
</body>
</html>
`;
