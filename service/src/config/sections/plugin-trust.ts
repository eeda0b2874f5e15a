import { Type, type Static } from '@sinclair/typebox';

/** An Ed25519 public key as `backworks plugin keygen` prints it: "ed25519:" and 32 bytes in base64. */
export const PUBLIC_KEY_PATTERN = '^ed25519:[A-Za-z0-9+/]{43}=$';

/** `plugin_trust:` — which native plugins may be opened (service/src/trust/README.md). */
export const PluginTrustSchema = Type.Object({
  keys: Type.Optional(Type.Array(Type.String({ pattern: PUBLIC_KEY_PATTERN, description: 'a trusted public key, e.g. ed25519:3q2+7w...=' }), {
    default: [], uniqueItems: true,
    description: 'public keys whose signatures (FILE.sig) are trusted, for plugin libraries and registry indexes',
  })),
  require_signed: Type.Optional(Type.Boolean({
    default: false,
    description: 'refuse any external plugin that is not signed by one of `keys`, before it is opened',
  })),
  registry: Type.Optional(Type.String({
    pattern: '^(https?|file)://',
    description: 'default registry index for `backworks plugin install` (https://, http:// or file:// URL of index.json)',
  })),
}, { additionalProperties: false });

export type PluginTrustConfig = Static<typeof PluginTrustSchema>;
