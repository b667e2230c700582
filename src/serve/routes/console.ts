/**
 * The review console's pages (registered under /ui by plugins/console.ts, which authenticates every
 * request but /login and the stylesheet, so `req.orgId` is the key's org here):
 *
 *   GET  /ui/login, POST /ui/login, POST /ui/logout        the session (console/session.ts)
 *   GET  /ui?q=&namespace=&version=&mode=&k=                search: an item id opens it, other text is searched
 *   GET  /ui/items/:id?namespace=&version=&mode=&k=&fusion=  an item and its top k neighbours, every part score
 *   GET  /ui/compare?item=&left=&right=&left_mode=&right_mode=&left_fusion=&right_fusion=&k=
 *   POST /ui/judgements                                    a Good / Bad mark, then back to the page
 *   GET  /ui/runs                                          versions, coverage, BLEND_EMBEDDING_VERSION, runs
 *
 * Every read is scoped to the request's org, through the same retrievers /v1 uses.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VersionEmbedder } from '../../embed/version-embedder.js';
import { ConfigError, NotFoundError, ProviderError } from '../../errors.js';
import { authFailures } from '../../metrics.js';
import type { FusionSettings } from '../../retrieve/fusion.js';
import { queryOptions } from '../../retrieve/options.js';
import { RETRIEVAL_MODES, type RetrievalMode, type SimilarResult, search, similar } from '../../retrieve/similar.js';
import { resolveVersion } from '../../retrieve/version.js';
import { catalogCards } from '../../store/catalog-items.js';
import type { Db } from '../../store/db.js';
import { marksFor, saveMark } from '../../store/judgements.js';
import { listOrgRuns } from '../../store/runs.js';
import { versionStatus } from '../../store/status.js';
import { getVersion } from '../../store/versions.js';
import { type CompareColumn, comparePage } from '../console/compare-page.js';
import { namespaceChoice } from '../console/context.js';
import { itemPath, uiUrl } from '../console/html.js';
import { itemPage } from '../console/item-page.js';
import { loginPage } from '../console/login-page.js';
import { checkItemId, formatFusion, fusionParam, kParam, modeParam, nameParam, one, type Params, safeReturnPath } from '../console/params.js';
import { runsPage } from '../console/runs-page.js';
import { SEARCH_MODES, searchPage } from '../console/search-page.js';
import { clearedSessionCookie, overHttps, sessionCookie } from '../console/session.js';
import { CONSOLE_CSS } from '../console/style.js';
import type { KeyResolver } from '../key-resolver.js';
import { countRetrieval } from '../retrieval-metrics.js';
import type { ServeSettings } from '../settings.js';

export interface ConsoleRouteOptions {
  db: Db;
  settings: () => ServeSettings;
  embedder: VersionEmbedder;
  keys: KeyResolver;
}

/** Console pages are not part of the /v1 API: kept out of /openapi.json. */
const hidden = { schema: { hide: true } } as const;

const sendHtml = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
const viewer = (req: FastifyRequest) => ({ orgId: req.orgId, keyId: req.consoleKeyId });

/** One retrieval setting: a version (undefined: as served), a mode, and fusion weights (null: the namespace's). */
interface ListSetting {
  version: string | undefined;
  mode: RetrievalMode;
  fusion: FusionSettings | null;
}

/** A list for a page: the result, or why the version has none for the item (a page shows that, it is not an error). */
async function neighbours(
  db: Db,
  settings: ServeSettings,
  q: { orgId: string; namespace: string; itemId: string; k: number },
  s: ListSetting,
): Promise<{ result: SimilarResult | null; problem: string | null }> {
  const served = queryOptions(settings, q.namespace);
  try {
    const result = await similar(db, { ...q, ...served, fusion: s.fusion ?? served.fusion, version: s.version, mode: s.mode });
    countRetrieval('similar', result);
    return { result, problem: null };
  } catch (err) {
    if (err instanceof NotFoundError) return { result: null, problem: err.message };
    throw err;
  }
}

export async function consoleRoutes(app: FastifyInstance, { db, settings, embedder, keys }: ConsoleRouteOptions): Promise<void> {
  app.get('/assets/console.css', hidden, async (_req, reply) =>
    // The URL carries a digest of the content (style.ts), so the browser may keep it for good.
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(CONSOLE_CSS),
  );

  app.get('/login', hidden, async (req, reply) => sendHtml(reply, 200, loginPage({ next: safeReturnPath(one(req.query as Params, 'next')) })));

  app.post('/login', hidden, async (req, reply) => {
    const body = req.body as Params | undefined;
    const next = safeReturnPath(one(body, 'next'));
    const key = one(body, 'api_key');
    if (!key) return sendHtml(reply, 400, loginPage({ next, problem: 'Paste an API key.' }));
    const orgId = key.length > 1024 ? null : await keys.orgFor(key);
    if (orgId === null) {
      authFailures.inc({ reason: 'unknown' });
      return sendHtml(reply, 401, loginPage({ next, problem: 'API key not recognised (unknown or revoked).' }));
    }
    reply.header('set-cookie', sessionCookie(key, overHttps(req)));
    return reply.redirect(next, 303);
  });

  app.post('/logout', hidden, async (req, reply) => {
    reply.header('set-cookie', clearedSessionCookie(overHttps(req)));
    return reply.redirect('/ui/login', 303);
  });

  app.get('/', hidden, async (req, reply) => {
    const query = req.query as Params;
    const choice = await namespaceChoice(db, req.orgId, nameParam(query, 'namespace'));
    const version = nameParam(query, 'version');
    const mode = modeParam(query, 'mode', SEARCH_MODES);
    const k = kParam(query);
    const q = one(query, 'q');
    const base = { ...viewer(req), choice, q, version, mode, k, result: null, problem: null, cards: new Map() };
    if (!choice || q === undefined) return sendHtml(reply, 200, searchPage(base));
    if (q.length > 2000) throw new ConfigError('the search text is longer than 2,000 characters');
    if (q.includes('\u0000')) throw new ConfigError('the search text must not contain a NUL character');
    // An id of the org's catalog is a lookup, not a search.
    if (q.length <= 512 && (await catalogCards(db, req.orgId, choice.namespace, [q])).has(q)) {
      return reply.redirect(uiUrl(itemPath(q), { namespace: choice.namespace, version, mode, k }), 303);
    }
    try {
      const result = await search(db, {
        orgId: req.orgId,
        namespace: choice.namespace,
        text: q,
        provider: embedder.forVersion,
        k,
        mode,
        version,
        ...queryOptions(settings(), choice.namespace),
      });
      countRetrieval('search', result);
      const cards = await catalogCards(
        db,
        req.orgId,
        choice.namespace,
        result.candidates.map((c) => c.item_id),
      );
      return sendHtml(reply, 200, searchPage({ ...base, result, cards }));
    } catch (err) {
      // Shown on the search page, with its form, so the reviewer can change the mode or version.
      if (err instanceof ProviderError) return sendHtml(reply, 502, searchPage({ ...base, problem: `The embedding provider failed: ${err.message}` }));
      if (err instanceof ConfigError) return sendHtml(reply, 400, searchPage({ ...base, problem: err.message }));
      if (err instanceof NotFoundError) return sendHtml(reply, 404, searchPage({ ...base, problem: err.message }));
      throw err;
    }
  });

  app.get('/items/:id', hidden, async (req, reply) => {
    const itemId = checkItemId((req.params as { id: string }).id, 'the item id');
    const query = req.query as Params;
    const choice = await namespaceChoice(db, req.orgId, nameParam(query, 'namespace'));
    if (!choice) throw new NotFoundError('this organisation has no text embedding version yet');
    const namespace = choice.namespace;
    const current = settings();
    const servedFusion = queryOptions(current, namespace).fusion;
    const setting: ListSetting = {
      version: nameParam(query, 'version'),
      mode: modeParam(query, 'mode', RETRIEVAL_MODES),
      fusion: fusionParam(query, 'fusion', servedFusion),
    };
    const k = kParam(query);
    const card = (await catalogCards(db, req.orgId, namespace, [itemId])).get(itemId);
    const { result, problem } = await neighbours(db, current, { orgId: req.orgId, namespace, itemId, k }, setting);
    // Neither in the org's catalog nor in its version: for this org the item does not exist.
    if (!card && !result) throw new NotFoundError(problem ?? `item "${itemId}" is not in namespace "${namespace}"`);
    const ids = result?.candidates.map((c) => c.item_id) ?? [];
    const cards = await catalogCards(db, req.orgId, namespace, ids);
    const marks = result ? await marksFor(db, req.orgId, { namespace, version: result.version.version, queryItemId: itemId }) : new Map<string, number>();
    return sendHtml(
      reply,
      200,
      itemPage({
        ...viewer(req),
        choice,
        itemId,
        card,
        version: setting.version,
        mode: setting.mode,
        k,
        fusion: one(query, 'fusion') ?? null,
        servedFusion: formatFusion(servedFusion),
        result,
        problem,
        cards,
        marks,
        self: req.url.split('#')[0]!,
      }),
    );
  });

  app.get('/compare', hidden, async (req, reply) => {
    const query = req.query as Params;
    const itemId = checkItemId(one(query, 'item'), 'item (the query item id)');
    const choice = await namespaceChoice(db, req.orgId, nameParam(query, 'namespace'));
    if (!choice) throw new NotFoundError('this organisation has no text embedding version yet');
    const namespace = choice.namespace;
    const current = settings();
    const servedFusion = queryOptions(current, namespace).fusion;
    const k = kParam(query);
    const column = (side: 'left' | 'right'): ListSetting => ({
      version: nameParam(query, side),
      mode: modeParam(query, `${side}_mode`, RETRIEVAL_MODES),
      fusion: fusionParam(query, `${side}_fusion`, servedFusion),
    });
    const left = column('left');
    const right = column('right');
    // Without a right version: another version of the namespace if there is one; else the same version, dense alone.
    if (right.version === undefined && one(query, 'right_mode') === undefined) {
      const leftVersion =
        left.version ?? (await resolveVersion(db, { orgId: req.orgId, namespace, modality: 'text', blend: current.blend }).catch(() => null))?.version;
      const other = choice.versions.find((v) => v.version !== leftVersion)?.version;
      if (other) right.version = other;
      else right.mode = left.mode === 'dense' ? 'lexical' : 'dense';
    }
    const card = (await catalogCards(db, req.orgId, namespace, [itemId])).get(itemId);
    const q = { orgId: req.orgId, namespace, itemId, k };
    const lists = [await neighbours(db, current, q, left), await neighbours(db, current, q, right)] as const;
    if (!card && !lists[0].result && !lists[1].result) throw new NotFoundError(lists[0].problem ?? `item "${itemId}" is not in namespace "${namespace}"`);
    const ids = [...new Set(lists.flatMap((l) => l.result?.candidates.map((c) => c.item_id) ?? []))];
    const cards = await catalogCards(db, req.orgId, namespace, ids);
    const columns = await Promise.all(
      ([left, right] as const).map(async (s, i): Promise<CompareColumn> => {
        const { result, problem } = lists[i]!;
        const marks = result ? await marksFor(db, req.orgId, { namespace, version: result.version.version, queryItemId: itemId }) : new Map<string, number>();
        return { version: s.version, mode: s.mode, fusion: one(query, i === 0 ? 'left_fusion' : 'right_fusion') ?? null, result, problem, marks };
      }),
    );
    return sendHtml(
      reply,
      200,
      comparePage({
        ...viewer(req),
        choice,
        itemId,
        card,
        k,
        servedFusion: formatFusion(servedFusion),
        left: columns[0]!,
        right: columns[1]!,
        cards,
        self: req.url.split('#')[0]!,
      }),
    );
  });

  app.post('/judgements', hidden, async (req, reply) => {
    const body = req.body as Params | undefined;
    const namespace = nameParam(body, 'namespace');
    const version = nameParam(body, 'version');
    if (!namespace || !version) throw new ConfigError('a mark needs namespace and version');
    const queryItemId = checkItemId(one(body, 'query_item_id'), 'query_item_id');
    const itemId = checkItemId(one(body, 'item_id'), 'item_id');
    if (queryItemId === itemId) throw new ConfigError('an item cannot be marked as an answer to itself');
    const grade = one(body, 'grade');
    if (grade !== '0' && grade !== '1') throw new ConfigError(`grade must be 1 (good) or 0 (bad), got "${String(grade).slice(0, 20)}"`);
    if (!(await getVersion(db, { orgId: req.orgId, namespace, modality: 'text', version }))) {
      throw new NotFoundError(`version "${version}" does not exist for namespace "${namespace}"`, { version });
    }
    const known = await catalogCards(db, req.orgId, namespace, [queryItemId, itemId]);
    for (const id of [queryItemId, itemId]) if (!known.has(id)) throw new NotFoundError(`item "${id}" is not in namespace "${namespace}"`, { itemId: id });
    await saveMark(db, req.orgId, { namespace, version, query_item_id: queryItemId, item_id: itemId, grade: Number(grade), judged_by: req.consoleKeyId });
    return reply.redirect(safeReturnPath(one(body, 'return_to'), uiUrl(itemPath(queryItemId), { namespace, version })), 303);
  });

  app.get('/runs', hidden, async (req, reply) => {
    const current = settings();
    const [versions, runs] = [await versionStatus(db, { orgId: req.orgId }), await listOrgRuns(db, req.orgId, 50)];
    return sendHtml(reply, 200, runsPage({ ...viewer(req), versions, runs, blendSetting: current.blendEmbeddingVersion, blend: current.blend }));
  });
}
