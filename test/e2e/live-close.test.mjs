// Revoking a key ends its live sockets promptly for a client that follows the protocol: the hub
// says {"type":"close"} at once and the client closes; a close the server starts is only seen by
// the client when the runtime tears the connection down (about 10 s later under wrangler dev).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEV, startServer } from "./server.mjs";

let server;
before(async () => {
	server = await startServer({ name: "edgewise-e2e-live-close" });
}, { timeout: 180_000 });
after(async () => {
	await server?.cleanup();
});

const admin = { authorization: `Bearer ${DEV.adminToken}`, "content-type": "application/json" };

async function openViewer(key, { follow }) {
	const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/live?key=${key}`);
	const messages = [];
	const closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason, at: performance.now() })));
	ws.addEventListener("message", (m) => {
		const msg = JSON.parse(String(m.data));
		messages.push({ ...msg, at: performance.now() });
		// The documented client: a close message means close now, with its code.
		if (follow && msg.type === "close") ws.close(msg.code, msg.reason);
	});
	await new Promise((resolve, reject) => {
		ws.addEventListener("message", resolve, { once: true });
		ws.addEventListener("error", reject, { once: true });
	});
	return { ws, messages, closed };
}

test("a revoked key's sockets are told to close at once; a client that does so is closed in well under a second", async () => {
	const key = await (await fetch(`${server.url}/v1/admin/tenants/${DEV.tenant}/keys`, { method: "POST", headers: admin, body: JSON.stringify({ scope: "read" }) })).json();
	const follower = await openViewer(key.key, { follow: true });
	const ignorer = await openViewer(key.key, { follow: false });
	const t0 = performance.now();
	const res = await fetch(`${server.url}/v1/admin/tenants/${DEV.tenant}/keys/${key.id}`, { method: "DELETE", headers: admin });
	assert.equal(res.status, 200);
	const f = await follower.closed;
	assert.equal(f.code, 4401);
	const notice = follower.messages.find((m) => m.type === "close");
	assert.deepEqual({ type: notice.type, code: notice.code, reason: notice.reason }, { type: "close", code: 4401, reason: "API key revoked" });
	const seen = f.at - t0;
	assert.ok(seen < 1000, `the following client saw its close after ${Math.round(seen)} ms`);
	// A client that ignores the notice is closed by the server with the same code.
	const i = await ignorer.closed;
	assert.equal(i.code, 4401);
	assert.equal(i.reason, "API key revoked");
	// The revoked key cannot open a new socket.
	const again = new WebSocket(`${server.url.replace("http", "ws")}/v1/live?key=${key.key}`);
	const refused = await new Promise((resolve) => again.addEventListener("close", (e) => resolve(e.code)));
	assert.equal(refused, 4401);
});
