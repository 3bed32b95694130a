// ts_http_server.mjs - the official TypeScript SDK's Streamable HTTP server (the shape of its
// examples simpleStatelessStreamableHttp.js and jsonResponseStreamableHttp.js, from
// @modelcontextprotocol/sdk 1.32.2, pinned in bench/package.json) with one tool,
// read_text_file, as a peer for bench/http_bench.sh.
//
// usage: node bench/ts_http_server.mjs ROOT [PORT]   (PORT 0 or absent: any free port)
// Prints "listening on port N" on stdout once it accepts connections.
//
// One endpoint, /mcp, serves both ways bench/http_driver.c drives ctxd:
// - an `initialize` POST opens a session (a McpServer and a transport per session, session
//   ids from randomUUID), later POSTs carry Mcp-Session-Id: the per-session mode;
// - any other POST without Mcp-Session-Id is served statelessly: a McpServer and a transport
//   made for that request and closed with it, as the SDK's stateless example does.
// Both transports answer application/json (enableJsonResponse), as ctxd answers a call that
// sends no notifications. The examples' per-request console.log lines are left out.
//
// read_text_file {path}: the path is taken relative to ROOT (or absolute), resolved with
// realpath and refused outside ROOT; the answer has the shape of ctxd's: the text as content
// and again as structuredContent {path, content, truncated, totalLines, startLine, endLine},
// with the same outputSchema, which the SDK checks each answer against.
import { randomUUID } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod/v4';

const ROOT = await realpath(process.argv[2] ?? '.');
const PORT = Number(process.argv[3] ?? 0);

async function readTextFile({ path }) {
	const abs = await realpath(isAbsolute(path) ? path : join(ROOT, path)).catch(() => null);
	if (!abs || (abs !== ROOT && !abs.startsWith(ROOT + sep))) {
		return {
			isError: true,
			content: [{ type: 'text', text: `${path}: no such file under the root` }]
		};
	}
	const text = await readFile(abs, 'utf8');
	const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
	return {
		content: [{ type: 'text', text }],
		structuredContent: {
			path: abs,
			content: text,
			truncated: false,
			totalLines: lines,
			startLine: 1,
			endLine: lines
		}
	};
}

function getServer() {
	const server = new McpServer({ name: 'ts-sdk-http-peer', version: '1.0.0' });
	server.registerTool(
		'read_text_file',
		{
			title: 'Read text file',
			description: 'The text of a file under the root.',
			inputSchema: { path: z.string() },
			outputSchema: {
				path: z.string(),
				content: z.string(),
				totalLines: z.number().int(),
				startLine: z.number().int(),
				endLine: z.number().int(),
				truncated: z.boolean(),
				nextOffset: z.number().int().optional()
			},
			annotations: { readOnlyHint: true }
		},
		readTextFile
	);
	return server;
}

const app = createMcpExpressApp();
const sessions = new Map();

function jsonError(res, status, code, message) {
	res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

app.post('/mcp', async (req, res) => {
	try {
		const sid = req.headers['mcp-session-id'];
		if (sid) {
			const transport = sessions.get(sid);
			if (!transport) {
				jsonError(res, 404, -32001, 'Session not found');
				return;
			}
			await transport.handleRequest(req, res, req.body);
			return;
		}
		if (isInitializeRequest(req.body)) {
			const transport = new StreamableHTTPServerTransport({
				sessionIdGenerator: () => randomUUID(),
				enableJsonResponse: true,
				onsessioninitialized: id => {
					sessions.set(id, transport);
				}
			});
			transport.onclose = () => {
				if (transport.sessionId) {
					sessions.delete(transport.sessionId);
				}
			};
			await getServer().connect(transport);
			await transport.handleRequest(req, res, req.body);
			return;
		}
		const server = getServer();
		const transport = new StreamableHTTPServerTransport({
			sessionIdGenerator: undefined,
			enableJsonResponse: true
		});
		res.on('close', () => {
			transport.close();
			server.close();
		});
		await server.connect(transport);
		await transport.handleRequest(req, res, req.body);
	} catch (error) {
		console.error('ts_http_server:', error);
		if (!res.headersSent) {
			jsonError(res, 500, -32603, 'Internal server error');
		}
	}
});

app.all('/mcp', (req, res) => {
	res.status(405).set('Allow', 'POST').send('Method Not Allowed');
});

const listener = app.listen(PORT, '127.0.0.1', error => {
	if (error) {
		console.error('ts_http_server: cannot listen:', error);
		process.exit(1);
	}
	console.log(`listening on port ${listener.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
