// An independent ActivityPub peer for interoperability tests: one Fedify actor on loopback,
// driven over JSON lines.
//
//   node peer.mjs [--punte-context URL]
//
// stdin, one command per line:
//   {"cmd":"follow","target":ACTOR_URL}           WebFinger ACTOR_URL, look it up, send Follow
//   {"cmd":"undo","follow":FOLLOW_ID}              send Undo of an earlier Follow
//   {"cmd":"fetchOutbox","url":OUTBOX_URL}         signed GET of a collection and its pages
//   {"cmd":"fetch","url":URL}                      one signed GET: raw status and body
//   {"cmd":"send","to":ACTOR_URL,"activity":{…}}   send an activity (ids and actor filled in)
//   {"cmd":"status"}                               what arrived so far
//   {"cmd":"quit"}
// Any command may carry "tag", echoed in its result.
//
// stdout, one event per line:
//   {"event":"ready","actor":URL,"port":N,"fedify":VERSION,"node":VERSION}
//   {"event":"received","type":"Create","id":…,"objectId":…,"verified":true,
//    "httpSignature":{"verified":…,"keyId":…,"algorithm":…},"proof":{"verified":…,"keyId":…}}
//   {"event":"rejected","status":N,"body":…,"httpSignature":…,"proof":…}   Fedify refused a POST
//   {"event":"result","cmd":…,"ok":true,…}
//   {"event":"error","cmd":…,"message":…,"status":N?,"body":…?}
// Diagnostics go to stderr (PEER_LOG=debug for Fedify's own debug log).
//
// The machine has no internet: the document loader serves Fedify's preloaded contexts, the
// Punte context IRI from the node under test (BASE/ns/v1), a local copy of the Data Integrity
// v2 context, and fetches only loopback URLs.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import process from "node:process";
import { randomUUID } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";

import { configure } from "@logtape/logtape";
import {
  Accept,
  Activity,
  Create,
  createFederation,
  Delete,
  detachSignature,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  getDocumentLoader,
  lookupWebFinger,
  MemoryKvStore,
  Note,
  Object as APObject,
  Reject,
  Service,
  signRequest,
  Undo,
  Update,
  verifyJsonLd,
  verifyObject,
  verifyRequest,
} from "@fedify/fedify";

const here = new URL(".", import.meta.url);
const FEDIFY_VERSION = JSON.parse(
  readFileSync(new URL("node_modules/@fedify/fedify/package.json", here), "utf8"),
).version;
const PUNTE_CONTEXT_IRI = "https://w3id.org/punte/v1";
const USERNAME = "peer";

// ---------------------------------------------------------------------------------------------
// Output

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function note(...args) {
  process.stderr.write(`[peer] ${args.map((a) => typeof a === "string" ? a : JSON.stringify(a)).join(" ")}\n`);
}

await configure({
  sinks: {
    stderr(record) {
      const msg = record.message.map((m) => typeof m === "string" ? m : safeJson(m)).join("");
      process.stderr.write(`[fedify ${record.level} ${record.category.join(".")}] ${msg}\n`);
    },
  },
  loggers: [
    { category: "fedify", lowestLevel: process.env.PEER_LOG === "debug" ? "debug" : "warning", sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
  contextLocalStorage: new AsyncLocalStorage(),
});

function safeJson(v) {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

function errorMessage(e) {
  if (e instanceof AggregateError) return `${e.message}: ${e.errors.map(errorMessage).join("; ")}`;
  if (e instanceof Error) return e.cause ? `${e.message} (cause: ${errorMessage(e.cause)})` : e.message;
  return String(e);
}

// ---------------------------------------------------------------------------------------------
// Document loading, offline

const args = process.argv.slice(2);
let punteContextSource = process.env.PUNTE_CONTEXT_URL ?? null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--punte-context") punteContextSource = args[++i];
}

// Fedify 1.5 preloads data-integrity/v1 but not v2, which Punte activities name; on the
// internet Fedify would fetch it from w3id.org.
const localContexts = {
  "https://w3id.org/security/data-integrity/v2": JSON.parse(
    readFileSync(new URL("contexts/data-integrity-v2.jsonld", here), "utf8"),
  ),
};

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const contextMisses = [];

function offlineLoader(options) {
  const fetching = getDocumentLoader({ allowPrivateAddress: true, userAgent: options?.userAgent });
  return async (url) => {
    if (url === PUNTE_CONTEXT_IRI) {
      if (punteContextSource == null) {
        throw new Error(`${PUNTE_CONTEXT_IRI}: no node to load it from yet (--punte-context)`);
      }
      const doc = await fetching(punteContextSource);
      return { contextUrl: null, document: doc.document, documentUrl: url };
    }
    if (url in localContexts) {
      return { contextUrl: null, document: localContexts[url], documentUrl: url };
    }
    const u = new URL(url);
    if (!LOOPBACK.has(u.hostname)) {
      // Preloaded contexts are answered by `fetching` without a request.
      try {
        return await fetching(url);
      } catch (e) {
        contextMisses.push(url);
        throw new Error(`offline test: ${url} is neither preloaded nor on loopback (${errorMessage(e)})`);
      }
    }
    return await fetching(url);
  };
}

const documentLoader = offlineLoader();

// ---------------------------------------------------------------------------------------------
// The federation and its one actor

const kv = new MemoryKvStore();
const federation = createFederation({
  kv,
  allowPrivateAddress: true,
  documentLoaderFactory: offlineLoader,
  contextLoaderFactory: offlineLoader,
  // The peer answers for itself only; activities it sends are signed in the request.
});

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

// Objects the peer published (activities, notes), served at their ids.
const published = new Map(); // pathname -> JSON-LD

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Service({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify interop peer",
      summary: `Fedify ${FEDIFY_VERSION} on Node.js ${process.version}`,
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKeys: keys.filter((k) => k.privateKey.algorithm.name === "RSASSA-PKCS1-v1_5").map((k) => k.cryptographicKey),
      assertionMethods: keys.map((k) => k.multikey),
      manuallyApprovesFollowers: false,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => identifier === USERNAME ? keyPairs : []);

federation.setOutboxDispatcher("/users/{identifier}/outbox", async () => ({ items: [] }));

federation.setObjectDispatcher(Note, "/notes/{id}", async (ctx, { id }) => {
  const json = published.get(new URL(ctx.getObjectUri(Note, { id })).pathname);
  return json == null ? null : await Note.fromJsonLd(json, ctx);
});

// What the inbox received; verification found by `checkInboxRequest` before Fedify saw it.
const received = [];
const checks = new Map(); // activity id -> verification report

function record(type) {
  return async (ctx, activity) => {
    const id = activity.id?.href ?? null;
    const check = checks.get(id) ?? {};
    let objectType = null;
    let objectId = activity.objectId?.href ?? null;
    try {
      const object = await activity.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
      if (object != null) {
        objectType = object.constructor?.name ?? null;
        objectId = object.id?.href ?? objectId;
      }
    } catch (e) {
      note(`could not dereference the object of ${id}: ${errorMessage(e)}`);
    }
    const entry = {
      type,
      id,
      actor: activity.actorId?.href ?? null,
      objectId,
      objectType,
      verified: Boolean(check.httpSignature?.verified && check.proof?.verified),
      httpSignature: check.httpSignature ?? null,
      proof: check.proof ?? null,
      ldSignature: check.ldSignature ?? null,
      body: check.body ?? null,
    };
    received.push(entry);
    emit({ event: "received", ...entry });
    if (type === "Follow") {
      // The peer approves every follow request at once.
      const follower = await activity.getActor(ctx);
      if (follower != null) {
        await ctx.sendActivity({ identifier: USERNAME }, follower, new Accept({
          id: newId(ctx, "activities"),
          actor: ctx.getActorUri(USERNAME),
          object: activity,
        }), { immediate: true });
      }
    }
  };
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record("Accept"))
  .on(Reject, record("Reject"))
  .on(Create, record("Create"))
  .on(Update, record("Update"))
  .on(Delete, record("Delete"))
  .on(Follow, record("Follow"))
  .on(Undo, record("Undo"))
  .on(Activity, record("Activity"))
  .onError((_ctx, error) => {
    note(`inbox listener error: ${errorMessage(error)}`);
    emit({ event: "error", cmd: "inbox", message: errorMessage(error) });
  });

function newId(ctx, kind) {
  return new URL(`/${kind}/${randomUUID()}`, ctx.canonicalOrigin ?? ctx.origin);
}

// ---------------------------------------------------------------------------------------------
// Independent verification of inbox deliveries. Fedify's inbox accepts an activity when either
// its proof or its HTTP signature verifies (it skips the second when the first does); the test
// wants both, so both are checked here with Fedify's own verifiers before Fedify handles the
// request.

function signatureParams(header) {
  const out = {};
  for (const m of (header ?? "").matchAll(/([A-Za-z]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

async function checkInboxRequest(request, bodyText) {
  const report = { body: null };
  let json;
  try {
    json = JSON.parse(bodyText);
    report.body = json;
  } catch {
    return { id: null, report };
  }
  const sig = signatureParams(request.headers.get("signature"));
  report.httpSignature = {
    verified: false,
    keyId: sig.keyId ?? null,
    algorithm: sig.algorithm ?? null,
    headers: sig.headers ?? null,
    scheme: request.headers.has("signature-input") ? "rfc9421" : request.headers.has("signature") ? "draft-cavage" : null,
    digest: request.headers.get("digest"),
  };
  try {
    const key = await verifyRequest(request.clone(), { documentLoader, contextLoader: documentLoader });
    if (key != null) {
      report.httpSignature.verified = true;
      report.httpSignature.keyId = key.id?.href ?? report.httpSignature.keyId;
      report.httpSignature.owner = key.ownerId?.href ?? null;
    }
  } catch (e) {
    report.httpSignature.error = errorMessage(e);
  }
  const proofs = Array.isArray(json.proof) ? json.proof : json.proof != null ? [json.proof] : [];
  report.proof = {
    verified: false,
    keyId: proofs.map((p) => p?.verificationMethod ?? null).join(" ") || null,
    cryptosuite: proofs.map((p) => p?.cryptosuite ?? null).join(" ") || null,
    count: proofs.length,
  };
  if (proofs.length > 0) {
    try {
      const obj = await verifyObject(Activity, detachSignature(json), { documentLoader, contextLoader: documentLoader });
      report.proof.verified = obj != null;
    } catch (e) {
      report.proof.error = errorMessage(e);
    }
  }
  if (json.signature != null) {
    try {
      report.ldSignature = { verified: await verifyJsonLd(json, { documentLoader, contextLoader: documentLoader }) };
    } catch (e) {
      report.ldSignature = { verified: false, error: errorMessage(e) };
    }
  }
  return { id: typeof json.id === "string" ? json.id : null, report };
}

// ---------------------------------------------------------------------------------------------
// HTTP server

let origin = null;

const server = createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, origin);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
      else if (v != null) headers.set(k, v);
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    note(`${req.method} ${url.pathname}${url.search}`);

    if (req.method === "GET" && published.has(url.pathname) && !url.pathname.startsWith("/notes/")) {
      send(res, new Response(JSON.stringify(published.get(url.pathname)), {
        headers: { "Content-Type": "application/activity+json" },
      }));
      return;
    }

    const isInbox = req.method === "POST" && (url.pathname === "/inbox" || url.pathname.endsWith("/inbox"));
    let check = null;
    if (isInbox) {
      check = await checkInboxRequest(request, body.toString("utf8"));
      if (check.id != null) checks.set(check.id, check.report);
    }
    const response = await federation.fetch(request, { contextData: undefined });
    if (isInbox && !response.ok) {
      const text = await response.clone().text();
      emit({
        event: "rejected",
        status: response.status,
        body: text,
        id: check?.id ?? null,
        httpSignature: check?.report.httpSignature ?? null,
        proof: check?.report.proof ?? null,
      });
    }
    await send(res, response);
  } catch (e) {
    note(`request failed: ${errorMessage(e)}`);
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(errorMessage(e));
  }
});

async function send(res, response) {
  const headers = {};
  response.headers.forEach((v, k) => { headers[k] = v; });
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;
origin = `http://127.0.0.1:${port}`;

function context() {
  return federation.createContext(new URL(origin), undefined);
}

// ---------------------------------------------------------------------------------------------
// Commands

function learnNode(url) {
  if (punteContextSource == null && url != null) {
    punteContextSource = new URL("/ns/v1", url).href;
  }
}

async function lookupActor(ctx, target) {
  const jrd = await lookupWebFinger(target, { allowPrivateAddress: true });
  if (jrd == null) throw new Error(`WebFinger for ${target} found nothing`);
  const self = (jrd.links ?? []).find((l) =>
    l.rel === "self" &&
    (l.type === "application/activity+json" || /^application\/ld\+json/.test(l.type ?? ""))
  );
  if (self?.href == null) throw new Error(`WebFinger for ${target} has no self link: ${JSON.stringify(jrd)}`);
  const actor = await ctx.lookupObject(self.href);
  if (actor == null) throw new Error(`lookupObject(${self.href}) found nothing (see stderr)`);
  if (actor.inboxId == null) throw new Error(`${self.href} is a ${actor.constructor.name} without an inbox`);
  const keys = [];
  for await (const k of actor.getPublicKeys()) keys.push({ id: k.id?.href, owner: k.ownerId?.href, algorithm: k.publicKey?.algorithm?.name });
  const multikeys = [];
  for await (const k of actor.getAssertionMethods()) multikeys.push({ id: k.id?.href, controller: k.controllerId?.href, algorithm: k.publicKey?.algorithm?.name });
  return {
    actor,
    info: {
      webfinger: { subject: jrd.subject, aliases: jrd.aliases ?? [], self: self.href },
      id: actor.id?.href,
      type: actor.constructor.name,
      preferredUsername: actor.preferredUsername?.toString() ?? null,
      inbox: actor.inboxId?.href,
      sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
      outbox: actor.outboxId?.href ?? null,
      publicKeys: keys,
      assertionMethods: multikeys,
    },
  };
}

async function sendTo(ctx, actor, activity) {
  published.set(activity.id.pathname, await activity.toJsonLd({ contextLoader: documentLoader }));
  await ctx.sendActivity({ identifier: USERNAME }, actor, activity, { immediate: true });
}

const follows = new Map(); // follow id -> target actor

const commands = {
  async follow(cmd) {
    learnNode(cmd.target);
    const ctx = context();
    const { actor, info } = await lookupActor(ctx, cmd.target);
    const follow = new Follow({
      id: newId(ctx, "follows"),
      actor: ctx.getActorUri(USERNAME),
      object: actor.id,
    });
    await sendTo(ctx, actor, follow);
    follows.set(follow.id.href, actor);
    return { id: follow.id.href, target: info };
  },

  async undo(cmd) {
    const ctx = context();
    const actor = follows.get(cmd.follow);
    if (actor == null) throw new Error(`no follow ${cmd.follow} was sent`);
    const undo = new Undo({
      id: newId(ctx, "activities"),
      actor: ctx.getActorUri(USERNAME),
      object: new Follow({ id: new URL(cmd.follow), actor: ctx.getActorUri(USERNAME), object: actor.id }),
    });
    await sendTo(ctx, actor, undo);
    return { id: undo.id.href };
  },

  // One signed GET, signed as Fedify's authenticated document loader signs, answering the
  // raw status and body whatever they are (for diagnostics).
  async fetch(cmd) {
    learnNode(cmd.url);
    const ctx = context();
    const [rsa] = (await ctx.getActorKeyPairs(USERNAME))
      .filter((k) => k.privateKey.algorithm.name === "RSASSA-PKCS1-v1_5");
    const request = await signRequest(
      new Request(cmd.url, { headers: { Accept: "application/activity+json, application/ld+json" } }),
      rsa.privateKey,
      rsa.keyId,
    );
    const response = await fetch(request, { redirect: "manual" });
    const text = await response.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch { /* not JSON */ }
    return {
      url: cmd.url,
      status: response.status,
      contentType: response.headers.get("content-type"),
      signature: request.headers.get("signature"),
      body,
    };
  },

  async fetchOutbox(cmd) {
    learnNode(cmd.url);
    const ctx = context();
    // Signed with the actor's RSA key (draft-cavage), as Fedify signs every authenticated fetch.
    const loader = await ctx.getDocumentLoader({ identifier: USERNAME });
    const doc = await loader(cmd.url);
    const collection = await APObject.fromJsonLd(doc.document, { documentLoader: loader, contextLoader: documentLoader });
    if (typeof collection.getItems !== "function" && typeof collection.getOrderedItems !== "function" && collection.firstId == null) {
      throw new Error(`${cmd.url} is a ${collection.constructor.name}, not a collection`);
    }
    const items = [];
    const max = cmd.max ?? 1000;
    for await (const item of ctx.traverseCollection(collection, { documentLoader: loader, contextLoader: documentLoader })) {
      let objectId = null;
      if (item instanceof Activity) objectId = item.objectId?.href ?? null;
      items.push({ id: item.id?.href ?? item.href?.href ?? null, type: item.constructor.name, objectId });
      if (items.length >= max) break;
    }
    return {
      url: cmd.url,
      collectionType: collection.constructor.name,
      totalItems: collection.totalItems ?? null,
      count: items.length,
      items,
    };
  },

  async send(cmd) {
    learnNode(cmd.to);
    const ctx = context();
    const { actor } = await lookupActor(ctx, cmd.to);
    const json = structuredClone(cmd.activity ?? {});
    const me = ctx.getActorUri(USERNAME).href;
    json["@context"] ??= "https://www.w3.org/ns/activitystreams";
    json.id ??= newId(ctx, "activities").href;
    json.actor ??= me;
    json.to ??= actor.id.href;
    if (json.object != null && typeof json.object === "object" && !Array.isArray(json.object)) {
      if (json.object.type === "Note") json.object.id ??= ctx.getObjectUri(Note, { id: randomUUID() }).href;
      json.object.attributedTo ??= me;
      json.object.to ??= actor.id.href;
      if (json.object.id != null) {
        published.set(new URL(json.object.id).pathname, { "@context": json["@context"], ...json.object });
      }
    }
    const activity = await Activity.fromJsonLd(json, { documentLoader, contextLoader: documentLoader });
    await sendTo(ctx, actor, activity);
    return { id: activity.id.href, objectId: activity.objectId?.href ?? null, inbox: actor.inboxId.href };
  },

  async status() {
    return { received, follows: [...follows.keys()], contextMisses };
  },

  async quit() {
    setImmediate(shutdown);
    return {};
  },
};

async function run(line) {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    emit({ event: "error", cmd: null, message: `not JSON: ${errorMessage(e)}` });
    return;
  }
  const handler = commands[cmd?.cmd];
  if (handler == null) {
    emit({ event: "error", cmd: cmd?.cmd ?? null, tag: cmd?.tag, message: `unknown command ${JSON.stringify(cmd?.cmd)}` });
    return;
  }
  try {
    const result = await handler(cmd);
    emit({ event: "result", cmd: cmd.cmd, tag: cmd.tag, ok: true, ...result });
  } catch (e) {
    const message = errorMessage(e);
    note(`${cmd.cmd} failed: ${message}`);
    if (e?.stack) note(e.stack);
    // sendActivity reports "Failed to send activity … (STATUS StatusText):\nBODY".
    const m = /\((\d{3})[^)]*\):\n([\s\S]*)$/.exec(message);
    emit({
      event: "error",
      cmd: cmd.cmd,
      tag: cmd.tag,
      message,
      ...(m ? { status: Number(m[1]), body: m[2] } : {}),
    });
  }
}

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line.trim() !== "") run(line);
});
rl.on("close", shutdown);
process.on("SIGTERM", shutdown);

emit({
  event: "ready",
  actor: context().getActorUri(USERNAME).href,
  inbox: context().getInboxUri(USERNAME).href,
  sharedInbox: context().getInboxUri().href,
  port,
  fedify: FEDIFY_VERSION,
  node: process.version,
});
