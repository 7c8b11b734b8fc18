/** Response types of the REST API, inferred from the shared schemas in @qledger/core/api. */
import type { RouteOutput } from '@qledger/core/api';

export type NodeStatus = RouteOutput<'status'>;
export type BlockView = RouteOutput<'getBlock'>;
export type BlockSummary = RouteOutput<'listBlocks'>['blocks'][number];
