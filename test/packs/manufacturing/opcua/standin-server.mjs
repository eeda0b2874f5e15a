// A stand-in for an independent OPC UA server, run in its own process so tests can kill it with
// real signals. It is node-opcua's server, made to behave like the embedded servers of PLCs:
// TransferSubscriptions answers BadServiceUnsupported (unless --transfer), and SIGUSR1 makes it
// forget every session while the connection stays up. Debian bookworm packages no other OPC UA
// server (no python3-opcua / asyncua, no open62541) and PyPI is unreachable from here.
//
//   node standin-server.mjs --port 4840 --pki DIR [--transfer]
// prints {"listening":PORT} once it accepts connections. Its certificate lives in DIR: a new DIR
// is a new certificate, as a PLC replaced or re-flashed presents. Users: anonymous, operator/secret.
import {
  DataType, OPCUACertificateManager, OPCUAServer, ServiceFault, StatusCodes, Variant, VariantArrayType,
  coerceExpandedNodeId, resolveNodeId,
} from 'node-opcua';
import { createHash } from 'node:crypto';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1]);
const transfer = args.includes('--transfer');
const pki = args[args.indexOf('--pki') + 1];

const words = (n) => { const u = BigInt.asUintN(64, BigInt(n)); return [Number(u >> 32n), Number(u & 0xffffffffn)]; };

/** Every built-in type the pack reports: name, scalar, array (values the type test expects back exactly). */
const TYPES = [
  ['Boolean', true, [true, false]],
  ['SByte', -5, [-128, 127]],
  ['Byte', 200, [0, 255]],
  ['Int16', -30000, [-32768, 32767]],
  ['UInt16', 60000, [0, 65535]],
  ['Int32', -2000000000, [-2147483648, 2147483647]],
  ['UInt32', 4000000000, [0, 4294967295]],
  ['Int64', words(-5n), [words(-(2n ** 63n)), words(2n ** 53n + 1n)]],
  ['UInt64', words(2n ** 53n + 1n), [words(0n), words(2n ** 64n - 1n)]],
  ['Float', 0.1, [0.1, 2.5, -1e-7, 3.4028234663852886e38]],
  ['Double', 0.1, [1.5, 2.5]],
  ['String', 'héllo', ['a', 'b']],
  ['DateTime', new Date('2026-01-02T03:04:05.678Z'), [new Date('2026-01-02T03:04:05.678Z'), new Date('2000-01-01T00:00:00.000Z')]],
  ['Guid', '72962B91-FA75-4AE6-8D28-B404DC7DAF63', ['72962B91-FA75-4AE6-8D28-B404DC7DAF63', '00000000-0000-0000-0000-000000000001']],
  ['ByteString', Buffer.from([0, 1, 255]), [Buffer.from('hi'), Buffer.from([])]],
  ['XmlElement', '<a>1</a>', ['<a/>', '<b/>']],
  ['NodeId', resolveNodeId('ns=1;s=Press'), [resolveNodeId('i=85'), resolveNodeId('ns=1;i=7')]],
  ['ExpandedNodeId', coerceExpandedNodeId('ns=1;s=Press'), [coerceExpandedNodeId('i=85')]],
  ['StatusCode', StatusCodes.BadNodeIdUnknown, [StatusCodes.Good, StatusCodes.UncertainLastUsableValue]],
  ['QualifiedName', { namespaceIndex: 1, name: 'Q' }, [{ namespaceIndex: 0, name: 'A' }]],
  ['LocalizedText', { text: 'hello', locale: 'en' }, [{ text: 'a' }, { text: 'b', locale: 'de' }]],
];

const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true });
await serverCertificateManager.initialize();
const server = new OPCUAServer({
  port, hostname: '127.0.0.1', allowAnonymous: true, maxConnectionsPerEndpoint: 50, serverCertificateManager,
  userManager: { isValidUser: (user, password) => user === 'operator' && password === 'secret' },
});
if (!transfer) {
  // Embedded servers often lack the service; node-opcua's client then loops on Republish.
  server._on_TransferSubscriptionsRequest = (message, channel) => {
    channel.send_response('MSG', new ServiceFault({ responseHeader: { serviceResult: StatusCodes.BadServiceUnsupported } }), message);
  };
}
await server.initialize();
const addressSpace = server.engine.addressSpace;
const ns = addressSpace.getOwnNamespace();

let counter = 0;
const values = { Setpoint: 12.5, Running: true };
const press = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Press' });
const variable = (browseName, dataType, get, writable = false, extra = {}) => ns.addVariable({
  componentOf: press, browseName, nodeId: `s=Press.${browseName}`, dataType, minimumSamplingInterval: 50,
  accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
  userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
  value: {
    get: () => new Variant({ dataType: DataType[dataType], value: get() }),
    set: writable ? (v) => { values[browseName] = v.value; return StatusCodes.Good; } : undefined,
  },
  ...extra,
});
variable('Counter', 'Int32', () => counter);
variable('Temperature', 'Double', () => 20 + counter / 10);
variable('Setpoint', 'Double', () => values.Setpoint, true);
variable('Running', 'Boolean', () => values.Running, true);
// readable by nobody: reads answer BadUserAccessDenied / BadNotReadable
ns.addVariable({ componentOf: press, browseName: 'Secret', nodeId: 's=Press.Secret', dataType: 'Double', accessLevel: 'CurrentRead', userAccessLevel: 'None', value: { dataType: DataType.Double, value: 1 } });
// a structure (ServerStatusDataType), which the pack does not decode
ns.addVariable({
  componentOf: press, browseName: 'Structure', nodeId: 's=Press.Structure', dataType: 'ServerStatusDataType', minimumSamplingInterval: 50,
  value: { get: () => addressSpace.findNode('i=2256').readValue().value },
});

const types = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Types' });
for (const [name, scalar, array] of TYPES) {
  for (const [suffix, value, arrayType] of [['', scalar, VariantArrayType.Scalar], ['Array', array, VariantArrayType.Array]]) {
    ns.addVariable({
      componentOf: types, browseName: `${name}${suffix}`, nodeId: `s=Types.${name}${suffix}`, dataType: name,
      valueRank: suffix ? 1 : -1, minimumSamplingInterval: 50,
      value: { get: () => new Variant({ dataType: DataType[name], arrayType, value }) },
    });
  }
}
ns.addVariable({
  componentOf: types, browseName: 'DoubleMatrix', nodeId: 's=Types.DoubleMatrix', dataType: 'Double', valueRank: 2, minimumSamplingInterval: 50,
  value: { get: () => new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Matrix, dimensions: [2, 3], value: new Float64Array([1, 2, 3, 4, 5, 6]) }) },
});

setInterval(() => { counter++; }, 100);
process.on('SIGUSR1', () => {
  // forget every session, as a server that restarted its stack behind the same socket would
  for (const session of Object.values(server.engine._sessions ?? {})) server.engine.closeSession(session.authenticationToken, true, 'Forcing');
  process.stdout.write(`${JSON.stringify({ forgot: true })}\n`);
});
process.on('SIGTERM', () => { void server.shutdown(0).then(() => process.exit(0)); });
await server.start();
const certificate = createHash('sha256').update(server.getCertificate()).digest('hex');
process.stdout.write(`${JSON.stringify({ listening: port, transfer, certificate })}\n`);
