import { Type, type Static } from '@sinclair/typebox';

/** Characters that are safe in one MQTT topic level (no `/`, `+`, `#`). */
const TOPIC_LEVEL = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

/** `gateway:` — who this gateway is in the fleet; names its MQTT topics backworks/{site}/{id}/. */
export const GatewayIdentitySchema = Type.Object({
  id: Type.String({ pattern: TOPIC_LEVEL, description: 'this gateway, unique within its site' }),
  site: Type.String({ pattern: TOPIC_LEVEL, description: 'the site (plant, hospital, warehouse) the gateway belongs to' }),
}, { additionalProperties: false });

export type GatewayIdentity = Static<typeof GatewayIdentitySchema>;
