import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes, Variant,
} from 'node-opcua';

/**
 * A real node-opcua server for the tests: a "Press" object with variables the test can change,
 * security None and SignAndEncrypt (Basic256Sha256), anonymous and user "operator"/"secret".
 */
export interface TestServer {
  port: number;
  endpoint: string;
  values: Record<string, unknown>;
  stop(): Promise<void>;
}

const VARIABLES: Array<[string, keyof typeof DataType, unknown, boolean]> = [
  ['Temperature', 'Double', 20.5, true],
  ['Count', 'Int32', 7, true],
  ['Running', 'Boolean', false, true],
  ['Recipe', 'String', 'A', false],
];

export async function startOpcuaServer(port: number, pkiRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-opcua-server-'))): Promise<TestServer> {
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pkiRoot, automaticallyAcceptUnknownCertificate: true });
  await serverCertificateManager.initialize();
  const values: Record<string, unknown> = Object.fromEntries(VARIABLES.map(([n, , v]) => [n, v]));
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    serverCertificateManager,
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    allowAnonymous: true,
    userManager: { isValidUser: (user: string, password: string) => user === 'operator' && password === 'secret' },
  });
  await server.initialize();
  const ns = server.engine.addressSpace!.getOwnNamespace();
  const press = ns.addObject({ organizedBy: server.engine.addressSpace!.rootFolder.objects, browseName: 'Press' });
  for (const [name, type, , writable] of VARIABLES) {
    ns.addVariable({
      componentOf: press, browseName: name, nodeId: `s=Press.${name}`, dataType: type, minimumSamplingInterval: 50,
      accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      value: {
        get: () => new Variant({ dataType: DataType[type], value: values[name] }),
        set: (v: Variant) => { values[name] = v.value; return StatusCodes.Good; },
      },
    });
  }
  await server.start();
  let stopped: Promise<void> | undefined;
  return {
    port, endpoint: `opc.tcp://127.0.0.1:${port}`, values,
    stop: () => (stopped ??= server.shutdown(0).then(() => fs.rmSync(pkiRoot, { recursive: true, force: true }))),
  };
}
