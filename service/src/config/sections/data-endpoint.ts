import { Type, type Static } from '@sinclair/typebox';

/**
 * `endpoints.NAME.data:` — an endpoint answered from the buffer instead of a plugin.
 * `device` and `point` are names, or `:param` to take them from the endpoint's path.
 */
export const DataEndpointSchema = Type.Object({
  device: Type.String({ minLength: 1, description: 'the device, or :param to take it from the path (e.g. /machines/:id with device: ":id")' }),
  point: Type.Optional(Type.String({ minLength: 1, description: 'one point (default: every point of the device), or :param' })),
  history: Type.Optional(Type.Boolean({ default: false, description: 'answer the readings of `point` in ?from=&to=&limit= instead of the latest value' })),
}, { additionalProperties: false });

export type DataEndpoint = Static<typeof DataEndpointSchema>;
