import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Script } from 'node:vm';
import { PAGE_CSS } from '../../src/api/dashboard/assets/page-css.ts';
import { PAGE_HTML, signInPage } from '../../src/api/dashboard/assets/page-html.ts';
import { PAGE_JS } from '../../src/api/dashboard/assets/page-js.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/api/dashboard/assets.ts';

describe('the page assets', () => {
  it('the script is valid JavaScript', () => {
    assert.doesNotThrow(() => new Script(PAGE_JS, { filename: 'dashboard.js' }));
  });

  it('the script never turns data into markup or code', () => {
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setAttribute(', 'javascript:']) {
      assert.ok(!PAGE_JS.includes(sink), `dashboard.js uses ${sink}`);
    }
    assert.match(PAGE_JS, /textContent/);
  });

  it('the pages load nothing from elsewhere and carry no inline script or style', () => {
    for (const html of [PAGE_HTML, signInPage(false), signInPage(true)]) {
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc="\/)[^>]*>/);
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
      for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.ok(url.startsWith('/') || url.startsWith('data:'), url);
    }
    assert.doesNotMatch(PAGE_CSS, /@import|url\(/);
    assert.match(PAGE_HTML, /name="viewport"/, 'readable on a phone');
    assert.match(PAGE_CSS, /prefers-color-scheme: dark/);
  });

  it('the policy allows this origin only', () => {
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
    assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe|\*|https?:/);
  });
});
