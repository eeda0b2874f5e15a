// A node-opcua server for the footprint bench (security None, anonymous): prints its port.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OPCUACertificateManager, OPCUAServer } from 'node-opcua';

const rootFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-bench-opcua-'));
const serverCertificateManager = new OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: true });
await serverCertificateManager.initialize();
const server = new OPCUAServer({ port: Number(process.argv[2]), hostname: '127.0.0.1', serverCertificateManager, allowAnonymous: true });
await server.initialize();
await server.start();
console.log(JSON.stringify({ msg: 'opcua listening', port: server.endpoints[0].port }));
process.on('SIGTERM', () => server.shutdown(0).then(() => process.exit(0)));
