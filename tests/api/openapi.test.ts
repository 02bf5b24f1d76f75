import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.ts';
import { startHarness, type Harness } from './harness.ts';

const sampleBodies: Record<string, unknown> = {
  'POST /tasks/{task_id}/comments': { comment: 'documented' },
  'POST /tasks/{task_id}/move': { target_queue: 'Todo' },
  'PATCH /tasks/{task_id}': { description: 'documented' },
  'POST /tasks': { queue_name: 'Todo', name: 'documented' },
};

describe('GET /openapi.json', () => {
  let h: Harness;
  let doc: any;
  before(async () => {
    h = await startHarness();
    h.api.route('GET', '/extra/{thing}', ({ params }) => ({ json: { thing: params.thing } }), { doc: { summary: 'An extra endpoint mounted later' } });
    h.api.route('GET', '/bare', () => ({ raw: 'hello', headers: { 'content-type': 'text/plain' } }));
    doc = (await h.call('GET', '/openapi.json')).body;
  });
  after(() => h.close());

  it('is an OpenAPI 3.1 document whose $refs all resolve', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.servers[0].url, h.url);
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    assert.ok(refs.length > 10);
    for (const ref of refs) {
      const pointer = ref.slice(8, -1).replace(/^#\//, '').split('/');
      let node = doc;
      for (const key of pointer) node = node?.[key];
      assert.ok(node, `${ref} resolves`);
    }
    const ids = Object.values(doc.paths).flatMap((item: any) => Object.values(item).map((op: any) => op.operationId));
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('documents every route the server knows, mounted ones included', () => {
    const routes = h.api.routes();
    assert.ok(routes.length >= 10);
    for (const { method, path } of routes) {
      const operation = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${path} is documented`);
      assert.ok(operation.summary, `${method} ${path} has a summary`);
      assert.ok(Object.keys(operation.responses).length > 0);
    }
    assert.equal(doc.paths['/extra/{thing}'].get.summary, 'An extra endpoint mounted later');
    assert.equal(doc.paths['/openapi.json'].get.security.length, 0, '/openapi.json is public');
  });

  it('every documented path and method answers (never "no such endpoint")', async () => {
    let count = 0;
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of Object.keys(item)) {
        const concrete = path.replace('{task_id}', '1').replace('{thing}', 'x');
        const query = path === '/tasks' && method === 'get' ? '?queue=Todo' : '';
        const answer = await h.call(method.toUpperCase(), concrete + query, { token: h.operatorToken, json: sampleBodies[`${method.toUpperCase()} ${path}`] });
        assert.notEqual(answer.body?.error?.code, 'route_not_found', `${method} ${path}`);
        assert.ok(answer.status < 300, `${method.toUpperCase()} ${concrete} → ${answer.status} ${answer.text.slice(0, 200)}`);
        const documented = Object.keys(item[method].responses);
        assert.ok(documented.includes(String(answer.status)), `${method} ${path} answers ${answer.status}, which is documented`);
        count++;
      }
    }
    assert.equal(count, h.api.routes().length);
  });

  it('documents the error answers of task endpoints', () => {
    const comment = doc.paths['/tasks/{task_id}/comments'].post;
    for (const status of ['400', '401', '403', '404', '413', '415', '503']) assert.ok(comment.responses[status], `comments documents ${status}`);
    assert.equal(comment.requestBody.content['application/json'].schema.$ref, '#/components/schemas/CommentRequest');
    assert.deepEqual(doc.components.schemas.CommentRequest.required, ['comment']);
  });

  it('docs/http-api.md covers every core endpoint', () => {
    const page = readFileSync(join(ROOT, 'docs', 'http-api.md'), 'utf8');
    for (const { method, path } of h.api.routes().filter((route) => !['/extra/{thing}', '/bare'].includes(route.path))) {
      assert.ok(page.includes(`${method} ${path}`), `docs/http-api.md mentions "${method} ${path}"`);
    }
  });
});
