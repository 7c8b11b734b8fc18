/**
 * The OpenAPI 3.1 description of the REST API, generated from ROUTES (served at `/docs`).
 * Schemas come from the same zod definitions the server validates with, so the document
 * cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { API_ERRORS, statusOfCode } from './errors.js';
import { ROUTES, type RouteDef } from './routes.js';
import { ErrorBody } from './schemas.js';

const COMMON_ERRORS = ['REQUEST_INVALID', 'RATE_LIMITED', 'INTERNAL'];

function schema(t: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(t, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

function parameters(def: RouteDef): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [where, obj] of [
    ['path', def.params],
    ['query', def.query],
  ] as const) {
    if (!obj) continue;
    for (const [name, field] of Object.entries(obj.shape as Record<string, z.ZodType>)) {
      const optional = field.safeParse(undefined).success;
      out.push({
        name,
        in: where,
        required: where === 'path' || !optional,
        ...(field.description ? { description: field.description } : {}),
        schema: schema(field),
      });
    }
  }
  return out;
}

/** The OpenAPI document; `version` is the node's package version. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [id, def] of Object.entries(ROUTES) as [string, RouteDef][]) {
    const path = def.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    const responses: Record<string, unknown> = {
      [String(def.status ?? 200)]: {
        description: 'OK',
        content: def.stream
          ? { 'text/event-stream': { schema: { type: 'string' } } }
          : { 'application/json': { schema: schema(def.response) } },
      },
    };
    const byStatus = new Map<number, string[]>();
    for (const code of [...def.errors, ...COMMON_ERRORS]) {
      const st = statusOfCode(code);
      byStatus.set(st, [...(byStatus.get(st) ?? []), code]);
    }
    for (const [st, codes] of byStatus)
      responses[String(st)] = {
        description: codes.join(', '),
        content: { 'application/json': { schema: schema(ErrorBody) } },
      };
    paths[path] = {
      ...paths[path],
      [def.method.toLowerCase()]: {
        operationId: id,
        summary: def.summary,
        tags: [def.tag],
        parameters: parameters(def),
        ...(def.body
          ? {
              requestBody: {
                required: true,
                content: {
                  'application/json': { schema: schema(def.body) },
                  ...(def.cbor
                    ? {
                        'application/cbor': {
                          schema: {
                            type: 'string',
                            format: 'binary',
                            description:
                              'A canonical CBOR array of 1–1000 byte strings, each a signed transaction; answered like {txs}',
                          },
                        },
                      }
                    : {}),
                },
              },
            }
          : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'qledger validator API',
      version,
      description:
        'Errors are { code, message, details? } with stable codes: ' +
        Object.entries(API_ERRORS)
          .map(([c, e]) => `${c} (${e.status})`)
          .join(', ') +
        ', and the ledger admission codes (400).',
    },
    paths,
  };
}
