import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as Opcua from 'node-opcua';

/**
 * `backworks opcua browse URL`: walks a server's address space from a node (the Objects folder by
 * default) and lists what a technician needs to write `points:` — NodeId, name, class, data type.
 */

export interface BrowseOptions {
  node?: string;
  depth?: number;
  securityMode?: 'None' | 'Sign' | 'SignAndEncrypt';
  username?: string;
  password?: string;
  /** Where the client certificate lives (the service's state dir keeps the same one). */
  pkiDir?: string;
}

export interface BrowsedNode {
  nodeId: string;
  browseName: string;
  nodeClass: string;
  dataType?: string;
  depth: number;
}

export async function browse(url: string, options: BrowseOptions = {}): Promise<BrowsedNode[]> {
  const lib = (await import('node-opcua')) as typeof Opcua;
  const pkiDir = options.pkiDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'backworks-opcua-browse-'));
  const mode = lib.MessageSecurityMode[options.securityMode ?? 'None'];
  const client = lib.OPCUAClient.create({
    applicationName: 'Backworks',
    clientCertificateManager: new lib.OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true }),
    securityMode: mode,
    securityPolicy: mode === lib.MessageSecurityMode.None ? lib.SecurityPolicy.None : lib.SecurityPolicy.Basic256Sha256,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
  const out: BrowsedNode[] = [];
  try {
    await client.connect(url);
    const session = await client.createSession(options.username
      ? { type: lib.UserTokenType.UserName, userName: options.username, password: options.password ?? '' }
      : { type: lib.UserTokenType.Anonymous });
    const maxDepth = options.depth ?? 3;
    const seen = new Set<string>();
    const walk = async (nodeId: string, depth: number): Promise<void> => {
      if (depth > maxDepth || seen.has(nodeId)) return;
      seen.add(nodeId);
      const result = await session.browse({
        nodeId, browseDirection: lib.BrowseDirection.Forward, referenceTypeId: 'HierarchicalReferences', includeSubtypes: true,
        resultMask: 0x3f,
      });
      for (const ref of result.references ?? []) {
        const id = ref.nodeId.toString();
        const node: BrowsedNode = { nodeId: id, browseName: ref.browseName.toString(), nodeClass: lib.NodeClass[ref.nodeClass], depth };
        if (ref.nodeClass === lib.NodeClass.Variable) {
          const dt = await session.read({ nodeId: id, attributeId: lib.AttributeIds.DataType });
          const v = dt.value?.value as Opcua.NodeId | undefined;
          node.dataType = v && v.namespace === 0 && typeof v.value === 'number' ? lib.DataType[v.value] ?? v.toString() : v?.toString();
        }
        out.push(node);
        if (ref.nodeClass === lib.NodeClass.Object) await walk(id, depth + 1);
      }
    };
    await walk(options.node ?? 'i=85', 0);
    await session.close();
  } finally {
    await client.disconnect().catch(() => undefined);
    if (!options.pkiDir) fs.rmSync(pkiDir, { recursive: true, force: true });
  }
  return out;
}

export function formatBrowse(nodes: BrowsedNode[]): string {
  return nodes.map((n) => `${'  '.repeat(n.depth)}${n.browseName}  ${n.nodeId}  ${n.nodeClass}${n.dataType ? `  ${n.dataType}` : ''}`).join('\n');
}
